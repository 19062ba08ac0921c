"""The metadata service: models, versions, stages, aliases, evaluations, lineage, audit, events."""
