"""The stand-in's own endpoints, under ``/_stand_in/`` (no DigitalOcean path starts so; no token needed):

- ``POST /_stand_in/images`` ``{"name": ..., "regions": [...]}``: register a snapshot, as a baking stack would have made it (the promote path);
- ``GET /_stand_in/health``: 200 while serving, with the backend's name.
"""

from __future__ import annotations

from do_stand_in.context import Context
from do_stand_in.resources.images import image_view, register
from do_stand_in.router import Answer, Request, Route


def admin_routes(context: Context) -> list[Route]:
    def register_image(request: Request) -> Answer:
        body = request.json_object()
        regions = body.get("regions") or []
        return 201, {"image": image_view(register(context.store, str(body.get("name") or ""), regions if isinstance(regions, list) else []))}

    return [
        Route("POST", "/_stand_in/images", register_image),
        Route("GET", "/_stand_in/health", lambda request: (200, {"status": "serving", "backend": context.backend.name})),
    ]
