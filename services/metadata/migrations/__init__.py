"""Alembic migrations of the metadata schema (run with ``python -m services.metadata migrate``)."""
