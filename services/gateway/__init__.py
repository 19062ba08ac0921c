"""The gateway: the registry's public front door (``RegistryService``)."""
