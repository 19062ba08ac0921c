"""The artifact service: content-addressed, deduplicated, compressed storage of model files."""
