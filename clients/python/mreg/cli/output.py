"""How the ``mreg`` commands print: one JSON document with ``--json``, or lines for a person."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message


def to_dict(message: Message) -> dict[str, Any]:
    """A proto as a JSON-ready dict with the proto's own field names."""
    return MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def emit(as_json: bool, document: Any, human: Callable[[], str]) -> int:
    """Print ``document`` as JSON, or what ``human()`` says; returns the exit status 0."""
    print(json.dumps(document, indent=2, sort_keys=True) if as_json else human())
    return 0


def stage_name(stage: int) -> str:
    """``STAGE_PRODUCTION`` -> ``production``."""
    from modelregistry.v1 import resources_pb2

    return resources_pb2.Stage.Name(stage).removeprefix("STAGE_").lower()


def state_name(state: int) -> str:
    """``VERSION_STATE_READY`` -> ``ready``."""
    from modelregistry.v1 import resources_pb2

    return resources_pb2.VersionState.Name(state).removeprefix("VERSION_STATE_").lower()
