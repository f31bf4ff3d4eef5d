"""One module per area of DigitalOcean's API; each gives its routes (``routes(context)``) and registers its transitions."""
