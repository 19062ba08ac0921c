"""Use cases of the metadata service, one module per concern; ``service.py`` combines them."""
