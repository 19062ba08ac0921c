"""Trees: a model's files as one manifest blob with validated paths."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from modelregistry.v1 import artifacts_pb2
from tests.artifacts.helpers import Client, digest_of, error_of, violations


def _entry(path: str, data: bytes, mode: int = 0o644) -> artifacts_pb2.TreeEntry:
    return artifacts_pb2.TreeEntry(path=path, digest=digest_of(data), mode=mode)


def _commit(client: Client, entries):
    return client.stub.CommitTree(artifacts_pb2.CommitTreeRequest(entries=entries))


def test_tree_commits_as_one_root_digest_and_reads_back_sorted(client: Client) -> None:
    files = {"model.safetensors": b"weights", "config.json": b"{}", "tok/vocab.txt": b"a\nb"}
    for data in files.values():
        client.upload(data)
    entries = [_entry(p, d) for p, d in files.items()]
    tree = _commit(client, entries).tree
    assert tree.is_tree
    assert tree.inspection.format == "tree"
    again = _commit(client, list(reversed(entries))).tree
    assert again.digest == tree.digest  # canonical: order does not matter
    got = client.stub.GetTree(artifacts_pb2.GetTreeRequest(digest=tree.digest)).entries
    assert [e.path for e in got] == sorted(files)
    assert {e.path: e.digest for e in got} == {p: digest_of(d) for p, d in files.items()}
    assert all(e.mode == 0o644 for e in got)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../etc/passwd", "path '../etc/passwd' has an empty, '.' or '..' segment"),
        ("a/../b", "path 'a/../b' has an empty, '.' or '..' segment"),
        ("/abs/file", "path '/abs/file' is absolute; use a relative path"),
        ("a//b", "path 'a//b' has an empty, '.' or '..' segment"),
        ("./a", "path './a' has an empty, '.' or '..' segment"),
        ("", "a path is required"),
    ],
)
def test_tree_with_a_bad_path_is_invalid(client: Client, path: str, message: str) -> None:
    client.upload(b"x")
    error = error_of(lambda: _commit(client, [_entry("ok", b"x"), _entry(path, b"x")]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == f"entries[1].path: {message}"
    assert violations(error)[0].field == "entries[1].path"


def test_tree_with_a_duplicate_path_is_invalid(client: Client) -> None:
    client.upload(b"x")
    error = error_of(lambda: _commit(client, [_entry("a/b", b"x"), _entry("a/b", b"x")]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "entries[1].path: path 'a/b' appears twice (entries 0 and 1)"


def test_tree_naming_an_absent_blob_fails_precondition(client: Client) -> None:
    error = error_of(lambda: _commit(client, [_entry("w.bin", b"never uploaded")]))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    digest = digest_of(b"never uploaded")
    assert error.details() == (
        f"1 file(s) of the tree name blobs the server does not hold: "
        f"w.bin ({digest.hash}/{digest.size_bytes})"
    )


def test_get_tree_of_a_plain_blob_fails_precondition(client: Client) -> None:
    client.upload(b"not a tree")
    error = error_of(
        lambda: client.stub.GetTree(artifacts_pb2.GetTreeRequest(digest=digest_of(b"not a tree")))
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == f"blob {digest_of(b'not a tree').hash} is not a tree manifest"


def reason_of(error: grpc.RpcError) -> str:
    """The ``ErrorInfo`` reason of an error."""
    info = error_details_pb2.ErrorInfo()
    for detail in rpc_status.from_call(error).details:
        if detail.Unpack(info):
            return info.reason
    return ""


def _refusal(client: Client, entries) -> tuple[grpc.StatusCode, str, str, str]:
    """Code, message, violated field and ErrorInfo reason of a refused CommitTree."""
    error = error_of(lambda: _commit(client, entries))
    info = reason_of(error)
    return error.code(), error.details(), violations(error)[0].field, info


FILE_DIRECTORY = "a path cannot be both a file and a directory"
CASE = "differ only by case or Unicode normalization; they collide on macOS and Windows"


@pytest.mark.parametrize(
    ("paths", "field", "reason", "problem"),
    [
        (
            ["x", "x/y"],
            "entries[1].path",
            "FILE_DIRECTORY_CONFLICT",
            f"path 'x/y' puts a file inside 'x', which entry 0 names as a file; {FILE_DIRECTORY}",
        ),
        (
            ["w/x/y", "w/x"],
            "entries[1].path",
            "FILE_DIRECTORY_CONFLICT",
            f"path 'w/x' is a file, but entry 0 puts files inside it; {FILE_DIRECTORY}",
        ),
        (
            ["ok", "Model.bin", "model.bin"],
            "entries[2].path",
            "CASE_CONFLICT",
            f"'model.bin' and 'Model.bin' of entry 1 {CASE}",
        ),
        (
            ["Weights/a.bin", "weights/b.bin"],
            "entries[1].path",
            "CASE_CONFLICT",
            f"'weights' (in path 'weights/b.bin') and 'Weights' of entry 0 {CASE}",
        ),
        (
            ["caf\u00e9.txt", "cafe\u0301.txt"],
            "entries[1].path",
            "CASE_CONFLICT",
            f"'cafe\u0301.txt' and 'caf\u00e9.txt' of entry 0 {CASE}",
        ),
        (
            ["ok", "bad\nname"],
            "entries[1].path",
            "CONTROL_CHARACTER",
            "path 'bad\\nname' contains the control character U+000A; paths may not contain "
            "control characters",
        ),
        (
            ["a\x00b"],
            "entries[0].path",
            "CONTROL_CHARACTER",
            "path 'a\\x00b' contains the control character U+0000; paths may not contain "
            "control characters",
        ),
        (
            ["d/" + "n" * 256],
            "entries[0].path",
            "NAME_TOO_LONG",
            f"path 'd/{'n' * 62}'\u2026 (258 characters) has a name longer than 255 bytes",
        ),
    ],
)
def test_tree_a_file_system_cannot_hold_is_invalid_naming_entry_and_rule(
    client: Client, paths: list[str], field: str, reason: str, problem: str
) -> None:
    client.upload(b"x")
    code, message, violated, got_reason = _refusal(client, [_entry(p, b"x") for p in paths])
    assert (code, message) == (grpc.StatusCode.INVALID_ARGUMENT, f"{field}: {problem}")
    assert (violated, got_reason) == (field, reason)


@pytest.mark.parametrize(
    ("mode", "bits"),
    [(0o4755, "setuid"), (0o2755, "setgid"), (0o1777, "sticky"), (0o6755, "setuid, setgid")],
)
def test_tree_with_setuid_setgid_or_sticky_mode_is_invalid(
    client: Client, mode: int, bits: str
) -> None:
    client.upload(b"x")
    entries = [_entry("ok", b"x"), _entry("run.sh", b"x", mode)]
    code, message, violated, reason = _refusal(client, entries)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message == (
        f"entries[1].mode: mode {mode:o} sets the {bits} bit; modes are permission bits only "
        "(at most 777)"
    )
    assert (violated, reason) == ("entries[1].mode", "MODE_SPECIAL_BITS")
