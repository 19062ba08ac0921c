"""Code shared by every service: server bootstrap, errors, settings, logging, validation."""
