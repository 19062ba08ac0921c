"""What ``mreg`` is like to use: help on every option, ``--version``, errors on one line that
name the flag typed, a closed pipe ended quietly, and the small checks the CLI makes itself."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import click
import pytest

from mreg.cli import cli, main
from mreg.cli.events import EVENT_TYPES
from mreg.cli.failures import EXIT_CODES
from mreg.client import Client

ROOT = Path(__file__).resolve().parents[2]
#: reStructuredText that has no place in help a terminal shows.
RST = re.compile(r"``|:(func|class|mod|meth|data|attr):`|^\.\. |\\b", re.M)


def _walk(command: click.Command, path: str = "mreg"):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _walk(sub, f"{path} {name}")


def _err_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    return err.rstrip("\n")


def test_every_command_and_option_has_help_without_rst_markup() -> None:
    seen = 0
    for path, command in _walk(cli):
        assert command.help, f"{path} has no help"
        assert not RST.search(command.help), f"{path}: {command.help}"
        for param in command.params:
            if isinstance(param, click.Option):
                seen += 1
                assert param.help, f"{path} {param.opts[0]} has no help"
                assert not RST.search(param.help), f"{path} {param.opts[0]}: {param.help}"
    assert seen > 100  # every client command carries the connection options


def test_every_existing_command_is_still_there() -> None:
    paths = {path for path, _ in _walk(cli)}
    for name in [
        "serve",
        "push",
        "pull",
        "ls",
        "show",
        "search",
        "compare",
        "evaluate",
        "promote",
        "approve",
        "reject",
        "alias",
        "lineage",
        "impact",
        "events",
        "deploy",
        "gc",
        "token",
        "db",
    ]:
        assert f"mreg {name}" in paths
    assert {"mreg token create", "mreg token revoke", "mreg token list"} <= paths
    assert "mreg db upgrade" in paths


def test_the_readme_documents_every_exit_status() -> None:
    readme = (ROOT / "README.md").read_text()
    for code in EXIT_CODES:
        assert re.search(rf"^\| {code} \| ", readme, re.M), f"exit status {code}"


def test_version_prints_the_installed_distribution_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mreg.cli", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"mreg {metadata.version('modelregistry')}\n"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["push", "m.bin"], "mreg push: missing option --model (see 'mreg push --help')"),
        (
            ["push", "m.bin", "--model", "m", "--metric", "auc"],
            "mreg push: --metric: expected KEY=NUMBER, got 'auc' (see 'mreg push --help')",
        ),
        (
            ["push", "m.bin", "--model", "m", "--metric", "auc=high"],
            "mreg push: --metric: auc: 'high' is not a number (see 'mreg push --help')",
        ),
        (
            ["push", "m.bin", "--model", "m", "--version", "1.0.0", "--bump", "minor"],
            "mreg push: --version and --bump do not go together; give one (see 'mreg push --help')",
        ),
        (["show"], "mreg show: missing argument REFERENCE (see 'mreg show --help')"),
        (["frobnicate"], "mreg: no such command 'frobnicate' (see 'mreg --help')"),
        ([], "mreg: a command is required (see 'mreg --help')"),
        (
            ["token", "create", "--principal", "ci"],
            "mreg token create: missing option --role: one of reader, writer, approver, "
            "admin (see 'mreg token create --help')",
        ),
        (
            ["evaluate", "m:1.0.0", "--dataset", "holdout", "--metric", "auc=0.9"],
            "mreg evaluate: --dataset: expected NAME@VERSION, e.g. holdout@3, got 'holdout': "
            "an evaluation records which version of the dataset it used "
            "(see 'mreg evaluate --help')",
        ),
    ],
)
def test_usage_errors_are_one_line_naming_the_command_and_flag(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert _err_line(capsys) == expected


def test_events_refuses_an_unknown_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "--type", "version.create"]) == 2
    line = _err_line(capsys)
    assert line.startswith("mreg events: --type: 'version.create' is not one of 'version.created'")


def test_the_event_types_are_the_ones_the_proto_documents() -> None:
    proto = (ROOT / "protos/modelregistry/v1/resources.proto").read_text()
    comment = proto.split("// What happened: ", 1)[1].split("string type = 2;", 1)[0]
    assert re.findall(r"`([a-z_.]+)`", comment) == EVENT_TYPES


def test_field_errors_name_the_flag_the_user_typed(
    embedded_registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = ["--gateway", embedded_registry.address(embedded_registry.gateway)]
    model = tmp_path / "m.bin"
    model.write_bytes(b"weights")
    push = ["push", str(model), "--no-cache", *gateway]
    assert main([*push, "--model", "Fraud Detector"]) == 1
    assert _err_line(capsys).startswith("mreg push: --model: invalid model id 'Fraud Detector'")
    assert main([*push, "--model", "m", "--version", "one"]) == 1
    assert _err_line(capsys).startswith("mreg push: --version: invalid semantic version 'one'")
    assert main([*push, "--model", "m", "--tag", "a b=c"]) == 1
    assert _err_line(capsys).startswith("mreg push: --tag: invalid key 'a b'")
    assert main([*push, "--model", "m", "--parent", "No Such"]) == 1
    assert _err_line(capsys).startswith("mreg push: --parent: invalid model id 'No Such'")
    assert main(["ls", "Fraud Detector", *gateway]) == 1
    assert _err_line(capsys).startswith("mreg ls: MODEL: invalid model id 'Fraud Detector'")
    assert main(["lineage", "m:1.0.0", "--depth", "-1", *gateway]) == 1
    assert _err_line(capsys) == (
        "mreg lineage: --depth: depth must be between 1 and 100 (0 for 10), got -1"
    )
    # gc calls the artifact service's stub directly: its error, too, is one line.
    assert main(["gc", "--grace-seconds", "-5", "--json", *gateway]) == 1
    captured = capsys.readouterr()
    message = "--grace-seconds: the grace period must not be negative, got -5.0 s"
    assert captured.err == f"mreg gc: {message}\n"
    assert json.loads(captured.out) == {"error": {"code": "INVALID_ARGUMENT", "message": message}}


def test_a_closed_pipe_ends_quietly(embedded_registry, tmp_path: Path) -> None:
    gateway = embedded_registry.address(embedded_registry.gateway)
    model = tmp_path / "m.bin"
    model.write_bytes(b"weights")
    # 250 tags of 1000 bytes: `show` prints about 250 KB, more than a pipe holds.
    tags = {f"t{i:03d}": "x" * 1000 for i in range(250)}
    with Client(gateway) as client:
        client.push(model, model="chatty", version="1.0.0", tags=tags, use_cache=False)
    err, status = tmp_path / "err", tmp_path / "status"
    result = subprocess.run(
        [
            "bash",
            "-c",
            f'"$0" -m mreg.cli show chatty:1.0.0 --gateway {gateway} 2>{err} | head -1; '
            f'echo "${{PIPESTATUS[0]}}" >{status}',
            sys.executable,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout == "models/chatty/versions/1.0.0\n"
    assert err.read_text() == ""
    assert status.read_text().strip() == "141"


def test_ls_hides_archived_versions_unless_asked(
    embedded_registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = embedded_registry.address(embedded_registry.gateway)
    model = tmp_path / "m.bin"
    for version in ("1.0.0", "1.1.0"):
        model.write_bytes(version.encode())
        with Client(gateway) as client:
            client.push(model, model="old", version=version, use_cache=False)
    with Client(gateway) as client:
        client.promote("old:1.0.0", "archived")
    capsys.readouterr()

    def listed(*flags: str) -> list[str]:
        assert main(["ls", "old", "--gateway", gateway, "--json", *flags]) == 0
        return [v["version"] for v in json.loads(capsys.readouterr().out)["model_versions"]]

    assert listed() == ["1.1.0"]
    assert listed("--archived") == ["1.1.0", "1.0.0"]


def test_promotions_lists_a_models_promotions(
    embedded_registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = ["--gateway", embedded_registry.address(embedded_registry.gateway)]
    model = tmp_path / "m.bin"
    model.write_bytes(b"weights")
    with Client(gateway[1]) as client:
        client.push(model, model="promoted", version="1.0.0", use_cache=False)
        client.promote("promoted:1.0.0", "staging", reason="candidate")
    assert main(["promotions", "promoted", *gateway]) == 0
    assert capsys.readouterr().out == "no promotions\n"  # none waits for approval
    assert main(["promotions", "promoted", "--state", "any", *gateway]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith(
        "models/promoted/promotions/1  models/promoted/versions/1.0.0 -> staging  completed"
    )


def test_ls_shows_what_a_trees_files_add_up_to(
    embedded_registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = embedded_registry.address(embedded_registry.gateway)
    tree = tmp_path / "model"
    (tree / "weights").mkdir(parents=True)
    (tree / "weights" / "model.bin").write_bytes(bytes(2 * 1024 * 1024))
    (tree / "config.json").write_text("{}")
    single = tmp_path / "m.bin"
    single.write_bytes(b"weights")
    with Client(gateway) as client:
        client.push(tree, model="sized", version="1.0.0", use_cache=False)
        client.push(single, model="sized", version="1.1.0", use_cache=False)
    capsys.readouterr()
    assert main(["ls", "sized", "--gateway", gateway]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("models/sized/versions/1.1.0  development  ready  7 B  sha256:")
    assert lines[1].startswith(
        "models/sized/versions/1.0.0  development  ready  2.0 MiB in 2 files  sha256:"
    )
