"""What an ``mreg`` command does when it fails: one line on stderr, ``mreg <command>: ...``,
naming the flag the user typed, and an exit status from :data:`EXIT_CODES`.

The registry names the request field it refused (``parent``, ``model_version.version``);
each command maps those fields back to its flags and arguments (``--model``, ``--version``).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Mapping
from typing import Any

import click
import grpc

from mreg.errors import MregError, from_rpc_error
from mreg.interrupt import catch_sigint

OK = 0
FAILED = 1
USAGE = 2
INTERRUPTED = 130
PIPE_CLOSED = 141

#: Exit statuses, as the README documents them.
EXIT_CODES = {
    OK: "success",
    FAILED: "the registry refused or failed the request, could not be reached, "
    "or a local file could not be read or written",
    USAGE: "the command line is wrong: an unknown option, a missing argument, a bad value",
    INTERRUPTED: "interrupted by Ctrl-C (SIGINT)",
    PIPE_CLOSED: "whoever read the output went away (mreg ls m | head -1): nothing more is printed",
}

#: Top-level packages of the server distribution, which the client does not depend on.
SERVER_PACKAGES = {"services"}
#: What a server command (serve, token, gc, db) says where only the client is installed.
NO_SERVER = (
    "this command runs the registry's server, which is not installed here (only the "
    "client, modelregistry-client, is): install the server distribution, "
    "`pip install .` in the registry's repository"
)

#: Set to 1 to see the traceback of an unexpected error.
ENV_DEBUG = "MREG_DEBUG"


def one_line(text: str) -> str:
    """``text`` on one line: its lines joined with ``; ``."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


def say(command: str, message: str) -> None:
    """Print ``mreg <command>: message`` on stderr, on one line."""
    print(f"{command}: {one_line(message)}", file=sys.stderr, flush=True)


def flag_for(field: str, fields: Mapping[str, str]) -> str | None:
    """The flag that fed a request field: the longest entry of ``fields`` that is ``field``
    or a parent of it (``model_version.tags`` for ``model_version.tags['a b']``)."""
    matches = [
        name for name in fields if field == name or field.startswith((f"{name}.", f"{name}["))
    ]
    return fields[max(matches, key=len)] if matches else None


def with_flags(error: MregError, fields: Mapping[str, str]) -> str:
    """The error's message, with the field it starts with replaced by the flag."""
    message = error.message
    for violation in error.field_violations:
        flag = flag_for(violation.subject, fields)
        if flag and message.startswith(f"{violation.subject}: "):
            return f"{flag}: {message[len(violation.subject) + 2 :]}"
    return message


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the flush at exit cannot fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture)
        pass


def _as_json(ctx: click.Context) -> bool:
    return bool(ctx.params.get("as_json"))


class MregCommand(click.Command):
    """A command whose failures print one line and return an exit status.

    ``fields`` maps the registry's field names to this command's flags and arguments.
    """

    def __init__(self, *args: Any, fields: Mapping[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields = dict(fields or {})

    def invoke(self, ctx: click.Context) -> Any:
        name = ctx.command_path
        try:
            with catch_sigint():
                try:
                    result = super().invoke(ctx)
                except grpc.RpcError as error:  # a stub called directly
                    raise from_rpc_error(error) from None
                sys.stdout.flush()  # a closed pipe shows here, not in a flush at exit
                return result
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except MregError as error:
            message = one_line(with_flags(error, self.fields))
            if _as_json(ctx):
                document = {"error": {"code": error.code.name, "message": message}}
                print(json.dumps(document), flush=True)
            say(name, message)
            return FAILED
        except KeyboardInterrupt:
            say(name, "interrupted")
            return INTERRUPTED
        except BrokenPipeError:
            _quiet_stdout()
            return PIPE_CLOSED
        except ModuleNotFoundError as error:
            if (error.name or "").split(".")[0] not in SERVER_PACKAGES:
                raise
            say(name, NO_SERVER)
            return FAILED
        except Exception as error:
            if os.environ.get(ENV_DEBUG, "") not in ("", "0"):
                traceback.print_exc()
            hint = "" if os.environ.get(ENV_DEBUG) else f" ({ENV_DEBUG}=1 shows the traceback)"
            say(name, f"unexpected error: {type(error).__name__}: {error}{hint}")
            return FAILED


class MregGroup(click.Group):
    """A group of :class:`MregCommand` (and of groups like itself)."""

    command_class = MregCommand
    group_class = type


def _param_name(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    return param.human_readable_name


def usage_line(error: click.ClickException) -> tuple[str, str]:
    """The command and the message of a usage error, the way ``mreg`` prints them:
    ``--metric: expected KEY=NUMBER, got 'auc' (see 'mreg push --help')``."""
    ctx = getattr(error, "ctx", None)
    command = ctx.command_path if ctx is not None else "mreg"
    if isinstance(error, click.exceptions.NoArgsIsHelpError):
        message = "a command is required"
    elif isinstance(error, click.MissingParameter) and error.param is not None:
        kind = "option" if isinstance(error.param, click.Option) else "argument"
        message = f"missing {kind} {_param_name(error.param)}"
        if isinstance(error.param.type, click.Choice):
            message += f": one of {', '.join(map(str, error.param.type.choices))}"
    elif (
        isinstance(error, click.BadParameter)
        and not isinstance(error, click.MissingParameter)
        and error.param is not None
    ):
        message = f"{_param_name(error.param)}: {error.message}".rstrip(".")
    else:
        message = error.format_message().rstrip(".")
        if message[:1].isupper() and not message[1:2].isupper():
            message = message[0].lower() + message[1:]  # click's sentences; ours are not
    if isinstance(error, click.UsageError) and ctx is not None:
        message += f" (see '{command} --help')"
    return command, message


def command(name: str, **kwargs: Any):
    """``@click.command`` making an :class:`MregCommand`; ``fields`` maps field names to flags."""
    return click.command(name, cls=MregCommand, **kwargs)
