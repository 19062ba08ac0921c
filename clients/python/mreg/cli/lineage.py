"""Commands about lineage: ``lineage`` (where a version came from) and ``impact``."""

from __future__ import annotations

import click

from mreg.cli.failures import command
from mreg.cli.options import Connection, registry_options
from mreg.cli.output import emit, stage_name, to_dict
from mreg.cli.promotions import STAGES

NODE_TYPES = ["model", "dataset", "experiment", "run"]
_NODE_FIELDS = {"node": "NODE", "reference": "NODE", "name": "NODE"}


@command(
    "lineage",
    fields={**_NODE_FIELDS, "max_depth": "--depth"},
    help="Show where a version came from. With --direction down, what came of it; as a "
    "tree or as Graphviz dot.",
)
@click.argument("node")
@click.option(
    "--type",
    "node_type",
    type=click.Choice(NODE_TYPES),
    default="model",
    show_default=True,
    help="What NODE is: a version (name:1.0.0), a dataset (name@version), an experiment or a run.",
)
@click.option(
    "--direction",
    type=click.Choice(["up", "down", "both"]),
    default="up",
    show_default=True,
    help="Upstream (what it came from), downstream, or both.",
)
@click.option("--depth", type=int, default=10, show_default=True, help="Most edges to follow.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["tree", "dot"]),
    default="tree",
    show_default=True,
    help="An indented tree, or Graphviz dot.",
)
@registry_options
def lineage(conn: Connection, node: str, node_type: str, direction: str, depth: int, output_format):
    from mreg.render import dot, tree

    with conn.client() as c:
        graph = c.lineage(node, node_type=node_type, direction=direction, depth=depth)
    root = next((n for n in graph.nodes if n.depth == 0), graph.nodes[0])
    if output_format == "dot":
        print(dot(list(graph.nodes), list(graph.edges)))
        return 0
    return emit(
        conn.as_json, to_dict(graph), lambda: tree(root, list(graph.edges), direction != "down")
    )


@command(
    "impact",
    fields={**_NODE_FIELDS, "stages": "--stage"},
    help="List every version downstream of a node. NODE is a dataset (name@version) or, "
    "with --type model, a version; each is shown with its stage.",
)
@click.argument("node")
@click.option(
    "--type",
    "node_type",
    type=click.Choice(NODE_TYPES),
    default="dataset",
    show_default=True,
    help="What NODE is.",
)
@click.option(
    "--stage",
    type=click.Choice(STAGES),
    multiple=True,
    help="Only versions in this stage (repeatable).",
)
@registry_options
def impact(conn: Connection, node: str, node_type: str, stage: tuple[str, ...]) -> int:
    with conn.client() as c:
        found = c.impact(node, node_type=node_type, stages=list(stage))
    return emit(
        conn.as_json,
        {"versions": [to_dict(v) for v in found]},
        lambda: (
            "\n".join(f"{v.model_version}  {stage_name(v.stage)}  (depth {v.depth})" for v in found)
            or "nothing downstream"
        ),
    )


def register(group: click.Group) -> None:
    """Add ``lineage`` and ``impact`` to ``group``."""
    group.add_command(lineage)
    group.add_command(impact)
