"""Copying models from other registries: :mod:`.mlflow` reads an MLflow server,
:mod:`.mapping` turns its names and values into this registry's, :mod:`.plan` decides
what is new and copies it."""
