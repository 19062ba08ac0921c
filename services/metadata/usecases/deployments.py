"""Deployment use cases: which version of a model runs in each environment.

Serving infrastructure reports through the gateway; a model has one deployment per
environment (unique key, written under the model's row lock), pointing at the version now
there. A report that changes nothing but the time (a heartbeat) writes no audit entry or
event, so frequent health reports do not flood the outbox.
"""

from __future__ import annotations

import logging
import re

from services.common.errors import FailedPrecondition, InvalidArgument, PreconditionViolation
from services.common.validation import parse_model_name, parse_version_name
from services.metadata import checks, semver
from services.metadata.domain import State
from services.metadata.domain_governance import Deployment, DeploymentStatus
from services.metadata.store import governance as store
from services.metadata.store import versions as versions_store
from services.metadata.store.mapping import snapshot
from services.metadata.store.outbox import Change, flush_change
from services.metadata.usecases.base import UseCaseBase, version_not_found

logger = logging.getLogger(__name__)

#: Endpoint and health limits, in bytes of UTF-8.
MAX_ENDPOINT_BYTES = 1024
MAX_HEALTH_BYTES = 4 * 1024

ENVIRONMENT_PATTERN = r"[a-z0-9][a-z0-9._-]{0,62}"
_ENVIRONMENT = re.compile(ENVIRONMENT_PATTERN)
_MODEL_NAME = re.compile(r"models/(?P<model>[^/]+)")


def environment(value: str, field: str = "environment") -> str:
    """A deployment environment: ``[a-z0-9][a-z0-9._-]{0,62}``."""
    if not _ENVIRONMENT.fullmatch(value):
        raise InvalidArgument.field(
            field,
            f"invalid environment {value[:80]!r}: use 1-63 characters of lower-case letters, "
            "digits, '.', '_' and '-', starting with a letter or digit",
        )
    return value


class DeploymentUseCases(UseCaseBase):
    """Record where versions run, and list it."""

    def report_deployment(
        self,
        version_name_: str,
        environment_: str,
        *,
        endpoint: str,
        status: DeploymentStatus | None,
        health: str,
        attributes: dict[str, str],
        actor: str,
    ) -> Deployment:
        """Create or replace the model's deployment in an environment."""
        model, version = parse_version_name(version_name_, "model_version")
        semver.parse(version, "model_version")
        environment(environment_)
        if status is None:
            raise InvalidArgument.field(
                "status", "a status is required: DEPLOYING, SERVING, DEGRADED, FAILED or RETIRED"
            )
        checks.text(endpoint, "endpoint", MAX_ENDPOINT_BYTES)
        checks.text(health, "health", MAX_HEALTH_BYTES)
        attributes = checks.string_map(attributes, "attributes")
        now = self.now()
        with self.db.write() as tx:
            parent = self.locked_model(tx, model)
            subject = versions_store.get_version(tx, model, version)
            if subject is None:
                raise version_not_found(model, version)
            if subject.state is not State.READY:
                state = subject.state.value
                raise FailedPrecondition(
                    f"cannot record {version_name_!r} as deployed to {environment_!r}: it is "
                    f"{state.upper()}, and only READY versions are deployed",
                    reason="NOT_READY",
                    precondition_violations=[
                        PreconditionViolation("NOT_READY", version_name_, f"state is {state}")
                    ],
                )
            after = Deployment(
                model=model,
                environment=environment_,
                version=version,
                endpoint=endpoint,
                status=status,
                health=health,
                attributes=attributes,
                reported_by=actor,
                update_time=now,
            )
            before = store.put_deployment(tx, parent.row_id, subject.row_id, after)
            previous = before.version if before else ""
            unchanged = before is not None and (
                before.version,
                before.endpoint,
                before.status,
                before.health,
                before.attributes,
            ) == (version, endpoint, status, health, attributes)
            if not unchanged:
                change = Change(actor, now)
                change.audit(
                    "deployment.report",
                    after.name,
                    snapshot(before) if before else None,
                    snapshot(after),
                )
                change.event(
                    "deployment.reported",
                    model,
                    after.name,
                    version=version,
                    environment=environment_,
                    status=status.value,
                    endpoint=endpoint,
                    previous_version=previous,
                )
                flush_change(tx, change)
        return after

    def list_deployments(self, parent: str) -> list[Deployment]:
        """A model's deployments, or those of one version, by environment."""
        if "/versions/" in parent:
            model, version = parse_version_name(parent, "parent")
        else:
            model, version = self._model_parent(parent), ""
        with self.db.read() as tx:
            model_id = self.model_id(tx, model)
            version_id = self.version_id(tx, model, version) if version else None
            return store.list_deployments(tx, model_id, model, version_id)

    @staticmethod
    def _model_parent(parent: str) -> str:
        if not _MODEL_NAME.fullmatch(parent):
            raise InvalidArgument.field(
                "parent",
                f"expected 'models/{{model}}' or 'models/{{model}}/versions/{{version}}', "
                f"got {parent!r}",
            )
        return parse_model_name(parent, "parent")
