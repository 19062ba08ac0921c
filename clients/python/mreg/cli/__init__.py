"""``mreg``: the registry's command line, on click.

One module per group of commands: :mod:`.transfers` (push, pull), :mod:`.versions` (show,
ls, search, compare, evaluate, alias, deploy), :mod:`.promotions`, :mod:`.lineage`,
:mod:`.events`, :mod:`.webhooks`, :mod:`.imports` (import mlflow) and :mod:`.admin` (serve,
token, gc, db). :mod:`.failures` says how errors print and which exit status they give.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from mreg.cli import (
    admin,
    events,
    imports,
    lineage,
    promotions,
    transfers,
    versions,
    webhooks,
)
from mreg.cli.failures import USAGE, MregGroup, say, usage_line


def _version() -> str:
    from importlib import metadata

    for dist in metadata.packages_distributions().get("mreg", []):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    from mreg import __version__

    return __version__


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"mreg {_version()}")
        ctx.exit()


@click.group(
    cls=MregGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    help="The model registry's command line: push and pull models, record evaluations, "
    "promote versions, watch events, and run a registry on embedded defaults.",
    epilog="Exit status: 0 done; 1 the registry refused or failed the request, could not be "
    "reached, or a local file could not be read or written; 2 the command line is wrong; "
    "130 interrupted (Ctrl-C); 141 whoever read the output went away. Errors print one "
    'line on stderr, \'mreg COMMAND: ...\'; with --json, also {"error": {"code", '
    '"message"}} on stdout.',
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print mreg's version and exit.",
)
def cli() -> None:
    pass


for module in (transfers, versions, promotions, lineage, events, webhooks, imports, admin):
    module.register(cli)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mreg`` with ``argv`` (default: the process's arguments); returns the exit status."""
    try:
        result = cli.main(
            args=list(sys.argv[1:] if argv is None else argv),
            prog_name="mreg",
            standalone_mode=False,
        )
    except click.ClickException as error:
        command, message = usage_line(error)
        say(command, message)
        return error.exit_code if error.exit_code else USAGE
    except click.exceptions.Abort:
        say("mreg", "interrupted")
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
