"""Persistence of the metadata service: SQLAlchemy 2 models and queries returning domain objects."""
