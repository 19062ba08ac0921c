"""The metadata service's use cases, one managed transaction each.

:class:`MetadataService` composes one object per area under ``usecases/``; they share the
database and the page-token key, and a use case that needs another's work is given it (the
version use cases are given the lineage use cases, which record a new version's edges).
The servicer calls them with domain objects and the acting principal, for example
``service.versions.create_version(...)``.
"""

from __future__ import annotations

import logging

from services.metadata.pagetoken import PageTokens
from services.metadata.store.db import Database, secret
from services.metadata.usecases.deployments import DeploymentUseCases
from services.metadata.usecases.evaluations import EvaluationUseCases
from services.metadata.usecases.governance import GovernanceUseCases
from services.metadata.usecases.history import HistoryUseCases
from services.metadata.usecases.lineage import LineageUseCases
from services.metadata.usecases.models import ModelUseCases
from services.metadata.usecases.reads import ReadUseCases
from services.metadata.usecases.search import SearchUseCases
from services.metadata.usecases.stages import StageUseCases
from services.metadata.usecases.versions import VersionUseCases
from services.metadata.usecases.webhooks import WebhookUseCases

logger = logging.getLogger(__name__)


class MetadataService:
    """Every use case of the metadata service, by area."""

    def __init__(self, db: Database, tokens: PageTokens) -> None:
        self.db = db
        self.lineage = LineageUseCases(db, tokens)
        self.versions = VersionUseCases(db, tokens, self.lineage)
        self.reads = ReadUseCases(db, tokens)
        self.models = ModelUseCases(db, tokens)
        self.stages = StageUseCases(db, tokens)
        self.evaluations = EvaluationUseCases(db, tokens)
        self.search = SearchUseCases(db, tokens)
        self.history = HistoryUseCases(db, tokens)
        self.governance = GovernanceUseCases(db, tokens)
        self.deployments = DeploymentUseCases(db, tokens)
        self.webhooks = WebhookUseCases(db, tokens)

    @classmethod
    def open(cls, database_url: str, *, pool_size: int = 16) -> MetadataService:
        """Connect to a migrated database and load the page-token signing key."""
        db = Database(database_url, pool_size=pool_size)
        with db.read() as tx:
            key = secret(tx, "page_token_key")
        return cls(db, PageTokens(bytes.fromhex(key)))
