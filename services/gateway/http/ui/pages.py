"""The web UI's pages: query parameters in, :class:`Reads` asked, template context out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from starlette.requests import Request

from modelregistry.v1 import resources_pb2
from services.common.auth import Identity, Role
from services.common.errors import InvalidArgument, RegistryError
from services.gateway.http.ui import views
from services.gateway.http.ui.reads import Reads, model_of_name
from services.gateway.http.ui.search import search_problem

DEFAULT_PAGE = 25
MAX_PAGE = 200

#: HTTP status of each gRPC code (google.rpc's standard mapping).
HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


@dataclass
class Page:
    """What a handler renders: a template, its context and the HTTP status."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200


def _page(template: str, status: int = 200, **context: Any) -> Page:
    return Page(template, context, status)


def _page_size(request: Request) -> int:
    text = request.query_params.get("size", "")
    if not text:
        return DEFAULT_PAGE
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise InvalidArgument.field(
            "size", f"page size must be a whole number from 1 to {MAX_PAGE}, got {text[:20]!r}"
        )
    return int(text)


def _text(request: Request, name: str, limit: int = 4096) -> str:
    value = request.query_params.get(name, "").strip()
    if len(value) > limit:
        raise InvalidArgument.field(name, f"at most {limit} characters, got {len(value)}")
    return value


def _search_params(request: Request) -> dict[str, Any]:
    """The search form's fields as typed (for the form and the page links; checked when
    used)."""
    params: dict[str, Any] = {
        name: request.query_params.get(name, "").strip() for name in ("q", "sort", "size")
    }
    params["size"] = params["size"] or DEFAULT_PAGE
    return params


def _refused(template: str, error: RegistryError, params: dict[str, Any], **context: Any) -> Page:
    """``template`` with the search form and why the registry refused the search (400);
    errors that are not about the search propagate."""
    problem = search_problem(error)
    if problem is None:
        raise error
    return _page(template, 400, problem=problem, params=params, first=True, **context)


def refusal(identity: Identity, promotion: resources_pb2.Promotion) -> str:
    """Why ``identity`` may not decide on ``promotion`` (empty: it may)."""
    roles = ", ".join(sorted(r.value for r in identity.roles)) or "none"
    if not identity.has(Role.APPROVER):
        return (
            f"You are signed in as {identity.principal} (roles: {roles}). Approving and "
            "rejecting need the approver role: sign in with an approver's token."
        )
    model = model_of_name(promotion.name) or ""
    if not identity.may_touch(model):
        return (
            f"Your token is limited to models starting with {identity.model_prefix!r}; "
            f"{model!r} is outside it."
        )
    if promotion.requested_by == identity.principal:
        return f"You ({identity.principal}) requested this promotion; another approver decides."
    if any(a.principal == identity.principal for a in promotion.approvals):
        return f"You ({identity.principal}) have already decided on this promotion."
    return ""


class Pages:
    """One method per page; each returns a ``Page`` for ``routes.Ui`` to render."""

    def __init__(self, reads: Reads) -> None:
        self.reads = reads

    def models(self, request: Request, identity: Identity, form: Mapping[str, Any]) -> Page:
        """Models (or, with a filter or sort, the versions that match it), a page at a time;
        a refused search is shown beside the form (400), which keeps what was typed."""
        params = _search_params(request)
        archived = request.query_params.get("archived") == "1"
        params["archived"] = "1" if archived else ""  # as the checkbox sends it
        try:
            filter_text, order_by = _text(request, "q"), _text(request, "sort")
            size, token = _page_size(request), _text(request, "page")
            if filter_text or order_by:
                found = self.reads.search(identity, filter_text, order_by, size, token, archived)
                return _page(
                    "models.html",
                    versions=found.model_versions,
                    sizes=self.reads.sizes(identity, found.model_versions),
                    next_page=found.next_page_token,
                    params=params,
                    first=not token,
                )
            listed = self.reads.models(identity, size, token, archived)
        except RegistryError as error:
            return _refused("models.html", error, params)
        return _page(
            "models.html",
            models=listed.models,
            next_page=listed.next_page_token,
            params=params,
            first=not token,
        )

    def model(self, request: Request, identity: Identity, form: Mapping[str, Any]) -> Page:
        """A model: its versions (filtered, sorted, paged) and its promotion history; a
        refused search is shown beside the form (400)."""
        model_id = request.path_params["model"]
        model = self.reads.model(identity, model_id)
        context = {
            "model": model,
            "model_id": model_id,
            "promotions": self.reads.promotion_history(identity, model_id),
        }
        params = _search_params(request)
        try:
            filter_text, order_by = _text(request, "q"), _text(request, "sort")
            size, token = _page_size(request), _text(request, "page")
            versions = self.reads.versions(identity, model_id, filter_text, order_by, size, token)
        except RegistryError as error:
            return _refused("model.html", error, params, versions=[], sizes={}, **context)
        return _page(
            "model.html",
            versions=versions.model_versions,
            sizes=self.reads.sizes(identity, versions.model_versions),
            next_page=versions.next_page_token,
            params=params,
            first=not token,
            **context,
        )

    def version(self, request: Request, identity: Identity, form: Mapping[str, Any]) -> Page:
        """A version: metadata, metrics, evaluations, files, lineage, impact, deployments."""
        name = f"models/{request.path_params['model']}/versions/{request.path_params['version']}"
        report = self.reads.report(identity, name)
        version = report.model_version
        node = resources_pb2.LineageNode(type=views.VERSION, key=version.name)
        upstream, downstream = views.lineage_trees(node, report.lineage_edges)
        return _page(
            "version.html",
            v=version,
            report=report,
            files=self.reads.files(identity, version),
            size=self.reads.sizes(identity, [version]).get(version.artifact_digest.hash),
            upstream=upstream,
            downstream=downstream,
            impact=self.reads.impact(identity, node),
        )

    def compare(self, request: Request, identity: Identity, form: Mapping[str, Any]) -> Page:
        """Two or more versions side by side: metrics (best marked) and evaluations."""
        names = [n.strip() for n in request.query_params.getlist("v") if n.strip()]
        lower = [m.strip() for m in _text(request, "lower", 1024).split(",") if m.strip()]
        table, evaluations = self.reads.compare(identity, names, lower)
        return _page(
            "compare.html",
            names=names,
            lower=", ".join(lower),
            table=table,
            rows={row.model_version: dict(row.metrics) for row in table.rows},
            best=views.best_of(table),
            evaluation_rows=views.evaluation_rows(names, evaluations),
        )

    def lineage(self, request: Request, identity: Identity, form: Mapping[str, Any]) -> Page:
        """Any lineage node (a dataset, a run): what it came from, what came from it, impact."""
        kind, key = _text(request, "type"), _text(request, "key", 512)
        if kind not in views.NODE_TYPE_OF:
            raise InvalidArgument.field(
                "type", f"one of {', '.join(sorted(views.NODE_TYPE_OF))}, got {kind[:40]!r}"
            )
        if not key:
            raise InvalidArgument.field("key", "the node's key is required, e.g. name@version")
        node = resources_pb2.LineageNode(type=views.NODE_TYPE_OF[kind], key=key)
        graph = self.reads.lineage(identity, node)
        upstream, downstream = views.lineage_trees(node, graph.edges)
        return _page(
            "lineage.html",
            node=node,
            upstream=upstream,
            downstream=downstream,
            impact=self.reads.impact(identity, node),
        )

    def promotions(
        self,
        request: Request,
        identity: Identity,
        form: Mapping[str, Any],
        notice: str = "",
        problem: str = "",
        status: int = 200,
    ) -> Page:
        """Promotions waiting for approval, with approve and reject where allowed."""
        model = _text(request, "model", 128) or str(form.get("model", ""))
        waiting = self.reads.waiting(identity, model)
        decisions = {p.name: refusal(identity, p) for p in waiting.promotions}
        return _page(
            "promotions.html",
            status,
            waiting=waiting,
            refusals=decisions,
            model=model,
            notice=notice,
            problem=problem,
        )

    def decide(self, request: Request, identity: Identity, form: Mapping[str, Any]) -> Page:
        """Approve or reject (POST); answers with the promotions page and what happened."""
        name = str(form.get("promotion", ""))
        decision = str(form.get("decision", ""))
        comment = str(form.get("comment", ""))
        if decision not in ("approve", "reject"):
            raise InvalidArgument.field("decision", f"approve or reject, got {decision[:20]!r}")
        try:
            promotion = self.reads.decide(identity, name, decision == "approve", comment)
        except RegistryError as error:
            status = HTTP_STATUS.get(error.code, 500)
            verb = "approve" if decision == "approve" else "reject"
            problem = f"Could not {verb} {name}: {error.message}"
            return self.promotions(request, identity, form, problem=problem, status=status)
        verb = "Approved" if decision == "approve" else "Rejected"
        state = views.promotion_state(promotion.state)
        notice = f"{verb} {promotion.name}: it is now {state}."
        if promotion.state == resources_pb2.PROMOTION_STATE_COMPLETED:
            target = views.stage(promotion.target_stage)
            notice += f" {views.short_version(promotion.model_version)} is in {target}."
        return self.promotions(request, identity, form, notice=notice)

    def events(self, request: Request, identity: Identity, form: Mapping[str, Any]) -> Page:
        """The newest events, then new ones live (server-sent events)."""
        events, latest = self.reads.recent_events(identity)
        return _page("events.html", events=list(reversed(events)), latest=latest)
