"""DigitalOcean's error answer: ``{"id": "not_found", "message": "...", "request_id": "..."}`` with its status code."""

from __future__ import annotations


class ApiError(Exception):
    """An error answer; the server adds the request id."""

    def __init__(self, status: int, error_id: str, message: str):
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"The resource you were accessing could not be found ({what}).")


def unprocessable(message: str) -> ApiError:
    return ApiError(422, "unprocessable_entity", message)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)
