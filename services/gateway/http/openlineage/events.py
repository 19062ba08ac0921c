"""The OpenLineage ``RunEvent`` (spec 2-0-2) as pydantic models: what this endpoint reads.

Only the fields lineage needs are declared; everything else an event carries (run and job
facets, custom keys) is allowed and ignored, as the spec asks of consumers. A field that
is present must have the spec's type: a malformed event is refused naming the field
(``inputs[0].name``), never half understood.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from services.common.errors import FieldViolation, InvalidArgument

#: Most inputs, or outputs, one event may name.
MAX_DATASETS = 1000
#: Characters of a namespace or a name.
MAX_NAME_CHARS = 400


class EventType(StrEnum):
    """The run state transition an event reports."""

    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    ABORT = "ABORT"
    FAIL = "FAIL"
    OTHER = "OTHER"


class _Open(BaseModel):
    """A spec object: undeclared keys are allowed (facets, extensions) and ignored."""

    model_config = ConfigDict(extra="allow", frozen=True)


Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS)]
Uri = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class Run(_Open):
    runId: uuid.UUID  # the spec's camelCase names
    facets: dict[str, Any] = Field(default_factory=dict)


class Job(_Open):
    namespace: Name
    name: Name
    facets: dict[str, Any] = Field(default_factory=dict)


class Dataset(_Open):
    """An input or output dataset: ``namespace`` and ``name`` identify it."""

    namespace: Name
    name: Name
    facets: dict[str, Any] = Field(default_factory=dict)

    def dataset_version(self) -> str | None:
        """The ``version`` facet's ``datasetVersion``, when the producer sent one."""
        facet = self.facets.get("version")
        value = facet.get("datasetVersion") if isinstance(facet, dict) else None
        return value if isinstance(value, str) and value else None


class RunEvent(_Open):
    """A run's state change with the datasets it read (inputs) and wrote (outputs)."""

    eventType: EventType | None = None
    eventTime: datetime
    run: Run
    job: Job
    inputs: list[Dataset] = Field(default_factory=list, max_length=MAX_DATASETS)
    outputs: list[Dataset] = Field(default_factory=list, max_length=MAX_DATASETS)
    producer: Uri
    schemaURL: Uri


def field_path(location: tuple[int | str, ...]) -> str:
    """pydantic's error location as a field path: ``("inputs", 0, "name")`` ->
    ``inputs[0].name``."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "event"


def parse_event(body: object) -> RunEvent:
    """The run event in a decoded JSON body; :class:`InvalidArgument` naming each bad field."""
    if not isinstance(body, dict):
        raise InvalidArgument.field(
            "event", f"an OpenLineage run event is a JSON object, got {type(body).__name__}"
        )
    try:
        return RunEvent.model_validate(body)
    except ValidationError as error:
        violations = [FieldViolation(field_path(e["loc"]), _describe(e)) for e in error.errors()]
        first = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        raise InvalidArgument(
            f"malformed OpenLineage run event: {first.field}: {first.description}{more}",
            reason="MALFORMED_OPENLINEAGE_EVENT",
            field_violations=violations,
        ) from None


def _describe(error: Any) -> str:
    if error["type"] == "enum":
        return f"must be one of {', '.join(EventType)}, got {str(error.get('input'))[:64]!r}"
    if error["type"] == "uuid_parsing":
        return f"must be a UUID, got {str(error.get('input'))[:64]!r}"
    if error["type"] == "missing":
        return "is required"
    return str(error["msg"])
