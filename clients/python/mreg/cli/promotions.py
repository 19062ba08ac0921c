"""Commands about promotions: ``promote``, ``approve``, ``reject`` and ``promotions``."""

from __future__ import annotations

from typing import Any

import click

from mreg.cli.failures import command
from mreg.cli.options import Connection, registry_options
from mreg.cli.output import emit, stage_name, to_dict

STAGES = ["development", "staging", "production", "archived", "deprecated"]
PROMOTION_STATES = [
    "pending_approval",
    "approved",
    "completed",
    "rejected",
    "withdrawn",
    "failed",
]
_PROMOTION_FIELDS = {"name": "PROMOTION", "comment": "--comment"}


def _state(state: int) -> str:
    from modelregistry.v1 import resources_pb2

    return resources_pb2.PromotionState.Name(state).removeprefix("PROMOTION_STATE_").lower()


def _summary(response: Any) -> str:
    p = response.promotion
    if p.name:
        lines = [f"{p.name}: {_state(p.state)}"]
        if p.required_approvals:
            lines.append(f"  approvals {len(p.approvals)} of {p.required_approvals}")
    else:
        lines = ["override (no promotion record)"]
    if response.model_version.name:
        lines.append(
            f"  {response.model_version.name} is now {stage_name(response.model_version.stage)}"
        )
    if response.previous_production.name:
        lines.append(f"  {response.previous_production.name} left production")
    return "\n".join(lines)


@command(
    "promote",
    fields={
        "name": "VERSION",
        "reference": "VERSION",
        "target_stage": "STAGE",
        "reason": "--reason",
    },
    help="Ask to move a version to a stage. VERSION is name:1.0.0. With a promotion "
    "policy the request must pass its gates and may wait for approvals (mreg approve).",
)
@click.argument("version")
@click.argument("stage", type=click.Choice(STAGES))
@click.option("--reason", default="", help="Why; kept with the promotion and the audit log.")
@registry_options
def promote(conn: Connection, version: str, stage: str, reason: str) -> int:
    with conn.client() as c:
        done = c.promote(version, stage, reason)
    return emit(conn.as_json, to_dict(done), lambda: _summary(done))


@command(
    "approve",
    fields=_PROMOTION_FIELDS,
    help="Approve a promotion. PROMOTION is models/{model}/promotions/{id}; needs the "
    "approver role.",
)
@click.argument("promotion")
@click.option("--comment", default="", help="A note kept with the approval.")
@registry_options
def approve(conn: Connection, promotion: str, comment: str) -> int:
    with conn.client() as c:
        done = c.approve(promotion, comment)
    return emit(conn.as_json, to_dict(done), lambda: _summary(done))


@command(
    "reject",
    fields=_PROMOTION_FIELDS,
    help="Reject a promotion. PROMOTION is models/{model}/promotions/{id}.",
)
@click.argument("promotion")
@click.option("--comment", default="", help="Why; kept with the rejection.")
@registry_options
def reject(conn: Connection, promotion: str, comment: str) -> int:
    with conn.client() as c:
        done = c.reject(promotion, comment)
    return emit(conn.as_json, to_dict(done), lambda: f"{done.name}: rejected")


def _promotion_line(p: Any) -> str:
    line = f"{p.name}  {p.model_version} -> {stage_name(p.target_stage)}  {_state(p.state)}"
    if p.state == 1:  # PENDING_APPROVAL: say what it waits for
        line += f", waits for {p.required_approvals - len(p.approvals)} more approval(s)"
    if p.status_message:
        line += f"  ({p.status_message})"
    return line


@command(
    "promotions",
    fields={"parent": "MODEL"},
    help="List a model's pending promotions. Newest first, with the approvals each waits "
    "for; --state any lists all.",
)
@click.argument("model")
@click.option(
    "--state",
    type=click.Choice([*PROMOTION_STATES, "any"]),
    default="pending_approval",
    show_default=True,
    help="Only promotions in this state; any for all.",
)
@registry_options
def promotions(conn: Connection, model: str, state: str) -> int:
    with conn.client() as c:
        found = c.promotions(model, "" if state == "any" else state)
    return emit(
        conn.as_json,
        {"promotions": [to_dict(p) for p in found]},
        lambda: "\n".join(_promotion_line(p) for p in found) or "no promotions",
    )


def register(group: click.Group) -> None:
    """Add the promotion commands to ``group``."""
    for cmd in (promote, approve, reject, promotions):
        group.add_command(cmd)
