"""Trees: a model's files as one manifest blob with validated paths."""

from __future__ import annotations

import grpc
import pytest

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
