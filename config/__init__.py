"""The stack's configuration: the only reader of Pulumi's config, turning it into typed, validated settings.

- ``declarations``: the keys `Pulumi.yaml` declares, with their types and defaults (written once, there);
- ``values``: raw strings to typed values, recording every problem (``ConfigError``);
- ``rules``: formats and checks every cloud shares; ``shared``: the settings every cloud shares;
- ``digitalocean``: DigitalOcean's catalogue and the settings a DigitalOcean stack alone sets;
- ``reader``: ``load_settings``, which reads the config the CLI handed over (or a plain dict) into ``StackSettings``.
"""
