"""Evaluations of versions: record and list."""

from __future__ import annotations

from dataclasses import replace

from services.common.errors import InvalidArgument
from services.common.validation import parse_version_name
from services.metadata import checks
from services.metadata.domain import Evaluation, EvaluationType, Page
from services.metadata.pagetoken import page_size as effective_size
from services.metadata.store import evaluations as store
from services.metadata.store.db import Conflict
from services.metadata.store.mapping import snapshot
from services.metadata.store.outbox import Change, flush_change
from services.metadata.usecases.base import UseCaseBase
from services.metadata.usecases.idempotency import (
    check_request_id,
    check_same_request,
    content_hash,
)


def evaluation_name(ev: Evaluation) -> str:
    """Resource name of an evaluation."""
    return f"models/{ev.model}/versions/{ev.version}/evaluations/{ev.id}"


class EvaluationUseCases(UseCaseBase):
    """Record a version's evaluations and list them."""

    def create_evaluation(
        self, parent: str, ev: Evaluation, actor: str, request_id: str = ""
    ) -> Evaluation:
        """Record an evaluation of the version ``parent``; idempotent by ``request_id``."""
        model, version = parse_version_name(parent, "parent")
        request_id = check_request_id(request_id)
        if not ev.dataset_name:
            raise InvalidArgument.field("evaluation.dataset_name", "a dataset name is required")
        checks.text(ev.dataset_name, "evaluation.dataset_name", 256)
        checks.text(ev.dataset_version, "evaluation.dataset_version", 128)
        checks.text(ev.evaluator, "evaluation.evaluator", 256)
        checks.text(ev.comment, "evaluation.comment", checks.MAX_DESCRIPTION_BYTES)
        metrics = checks.metric_map(ev.metrics, "evaluation.metrics")
        ev = replace(ev, model=model, version=version, metrics=metrics)
        request_hash = content_hash(
            {
                "parent": parent,
                "evaluation": snapshot(replace(ev, created_by="", create_time=None)),
            }
        )
        try:
            return self._create_evaluation(ev, actor, request_id, request_hash)
        except Conflict:
            if not request_id:
                raise
            # The same request id committed concurrently: answer with what it recorded.
            return self._create_evaluation(ev, actor, request_id, request_hash)

    def _create_evaluation(
        self, ev: Evaluation, actor: str, request_id: str, request_hash: str
    ) -> Evaluation:
        now = self.now()
        with self.db.write() as tx:
            if request_id:
                earlier = store.by_request_id(tx, request_id)
                if earlier is not None:
                    found, stored_hash = earlier
                    name = evaluation_name(found)
                    check_same_request(request_id, stored_hash, request_hash, name, "evaluation")
                    return found
            version_id = self.version_id(tx, ev.model, ev.version)
            spec = replace(ev, created_by=actor, create_time=now)
            created = store.insert(tx, version_id, spec, request_id, request_hash)
            name = evaluation_name(created)
            change = Change(actor, now)
            change.audit("evaluation.create", name, None, snapshot(created))
            change.event(
                "evaluation.created",
                ev.model,
                name,
                version=ev.version,
                dataset=f"{created.dataset_name}@{created.dataset_version}",
                type=created.type.value,
            )
            flush_change(tx, change)
            return created

    def list_evaluations(
        self,
        parent: str,
        *,
        dataset_name: str,
        dataset_version: str,
        eval_type: EvaluationType | None,
        page_size: int,
        page_token: str,
    ) -> Page:
        """A version's evaluations, newest first, filtered by dataset and type."""
        model, version = parse_version_name(parent, "parent")
        size = effective_size(page_size)
        query = {
            "op": "ListEvaluations",
            "parent": parent,
            "dataset": [dataset_name, dataset_version],
            "type": eval_type.value if eval_type else "",
        }
        after = self.tokens.decode(page_token, query)[0] if page_token else None
        with self.db.read() as tx:
            found = store.list_for_version(
                tx,
                model,
                version,
                self.version_id(tx, model, version),
                dataset_name=dataset_name,
                dataset_version=dataset_version,
                eval_type=eval_type,
                after_id=after,
                limit=size + 1,
            )
        token = self.tokens.encode(query, [found[size - 1].id]) if len(found) > size else ""
        return Page(found[:size], token)
