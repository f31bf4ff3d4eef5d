"""A stand-in for DigitalOcean's v2 API on 127.0.0.1: stateful, asynchronous like the real one, checked against its OpenAPI description.

What a client of DigitalOcean (the Pulumi DigitalOcean provider, Packer's `digitalocean` builder)
calls for this program's stacks is answered from kept state: ids are issued, statuses move on
after configurable delays (`new` -> `active`, `in-progress` -> `completed`), errors come in
DigitalOcean's shape, and an endpoint it does not implement answers 404 naming itself.

- ``server``: the HTTP server, its authentication, request log and optional OpenAPI check;
- ``store``: the records, the ids and the timed transitions, optionally persisted;
- ``resources``: one module per API area (droplets, images, networking, ...), each a route table;
- ``backends``: what a resource *is* besides its record (``api``: nothing; ``process``: local
  processes: the app per droplet, HAProxy per load balancer, PostgreSQL per database cluster);
- ``cli``: ``python -m do_stand_in serve --address 127.0.0.1:PORT --backend api|process``.
"""
