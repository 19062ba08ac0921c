"""Reading ``google.rpc.Status`` JSON bodies in tests: the reasons and the fields named."""

from __future__ import annotations

STATUS = "type.googleapis.com/google.rpc."


def reasons(body: dict) -> list[str]:
    """The ``ErrorInfo`` reasons of a Status body."""
    return [d["reason"] for d in body.get("details", []) if d["@type"] == STATUS + "ErrorInfo"]


def violations(body: dict) -> list[str]:
    """The fields a Status body's ``BadRequest`` details name."""
    return [
        v["field"]
        for d in body.get("details", [])
        if d["@type"] == STATUS + "BadRequest"
        for v in d["fieldViolations"]
    ]
