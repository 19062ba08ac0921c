"""The metadata service's use cases, one managed transaction each.

:class:`MetadataService` combines the use-case modules under ``usecases/``; the servicer
calls it with domain objects and the acting principal.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from services.metadata.pagetoken import PageTokens
from services.metadata.store.db import Database
from services.metadata.store.schema import SecretRow
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

logger = logging.getLogger(__name__)


class MetadataService(
    LineageUseCases,  # before VersionUseCases: it provides link_new_version
    VersionUseCases,
    ReadUseCases,
    StageUseCases,
    EvaluationUseCases,
    SearchUseCases,
    ModelUseCases,
    HistoryUseCases,
    GovernanceUseCases,
    DeploymentUseCases,
):
    """Every use case of the metadata service."""

    @classmethod
    def open(cls, database_url: str, *, pool_size: int = 16) -> MetadataService:
        """Connect to a migrated database and load the page-token signing key."""
        db = Database(database_url, pool_size=pool_size)
        with db.read() as session:
            key = session.execute(
                select(SecretRow.value).where(SecretRow.name == "page_token_key")
            ).scalar_one()
        return cls(db, PageTokens(bytes.fromhex(key)))
