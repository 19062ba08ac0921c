"""Search across versions with filters, ordering and keyset pages; comparison by metrics."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.errors import InvalidArgument
from services.common.validation import parse_version_name
from services.metadata.domain import ModelVersion, Page
from services.metadata.pagetoken import page_size as effective_size
from services.metadata.store import search as store
from services.metadata.store import versions as versions_store
from services.metadata.usecases.base import UseCaseBase, version_not_found

MAX_COMPARED = 100


@dataclass
class Comparison:
    """Metrics of several versions side by side, and the best version per metric."""

    metrics: list[str]
    rows: list[tuple[str, dict[str, float]]]
    best: list[tuple[str, str, float, bool]]


class SearchUseCases(UseCaseBase):
    """Search and compare."""

    def search(
        self,
        filter_text: str,
        order_by: str,
        page_size: int,
        page_token: str,
        show_archived: bool,
    ) -> Page:
        """One page of versions matching ``filter_text`` in ``order_by`` order."""
        size = effective_size(page_size)
        compiled = store.compile_query(filter_text, order_by)
        query = {
            "op": "SearchModelVersions",
            "filter": filter_text,
            "order_by": order_by,
            "archived": show_archived,
        }
        after = self.tokens.decode(page_token, query) if page_token else None
        with self.db.read() as tx:
            items, positions = store.search(tx, compiled, show_archived, after, size + 1)
        token = ""
        if len(items) > size:
            items = items[:size]
            token = self.tokens.encode(query, positions[size - 1])
        return Page(items, token)

    def compare(
        self, names: list[str], metrics: list[str], lower_is_better: list[str]
    ) -> Comparison:
        """A table of metrics for 2-100 versions and the best version per metric."""
        if not 2 <= len(names) <= MAX_COMPARED:
            raise InvalidArgument.field(
                "names", f"compare 2 to {MAX_COMPARED} versions, got {len(names)}"
            )
        parsed = [parse_version_name(n, f"names[{i}]") for i, n in enumerate(names)]
        found: list[ModelVersion] = []
        with self.db.read() as tx:
            for model, version in parsed:
                v = versions_store.get_version(tx, model, version)
                if v is None:
                    raise version_not_found(model, version)
                found.append(v)
        keys = sorted(set(metrics) if metrics else {k for v in found for k in v.metrics})
        lower = set(lower_is_better)
        rows = [(v.name, {k: v.metrics[k] for k in keys if k in v.metrics}) for v in found]
        best = []
        for key in keys:
            have = [(name, values[key]) for name, values in rows if key in values]
            if not have:
                continue
            pick = (min if key in lower else max)(have, key=lambda nv: nv[1])
            best.append((key, pick[0], pick[1], key in lower))
        return Comparison(keys, rows, best)
