"""What a resource is besides its record: ``api`` (nothing), ``process`` (local processes); a ``vm`` backend (QEMU) implements the same ``Backend``."""
