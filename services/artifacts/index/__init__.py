"""The artifact service's own index database (issue 13, item 2): pins and chunks.

What the service must answer by query rather than by listing the bucket lives here, in a
SQL database it owns (``MREG_ARTIFACTS_DATABASE_URL``: PostgreSQL in production, by default
SQLite at ``{data_dir}/artifacts-index.db``), with Alembic migrations of its own
(``services/artifacts/migrations``). It holds the pins (:mod:`.pins`) and which chunks are
stored, with their sizes at rest and last use (:mod:`.chunks`); packs, manifests and upload
sessions are to follow (docs/ARCHITECTURE.md 5.4).
"""
