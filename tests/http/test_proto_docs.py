"""Comments read from a descriptor set with source info, compiled by a real protoc."""

from __future__ import annotations

from pathlib import Path

import grpc_tools
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

from services.gateway.http.json_api.proto_docs import clean, comments_of, summary_of

PROTO = """
syntax = "proto3";
package demo.v1;

// Thing is a thing.
//
// It has two paragraphs.
message Thing {
  // The thing's name.
  string name = 1;
  int32 size = 2;  // Trailing: in bytes.
  // Inner is nested.
  message Inner {
    // Deep field.
    bool deep = 1;
  }
  oneof choice {
    // One of them.
    string left = 3;
  }
}

// Color is an enum.
enum Color {
  // Nothing chosen.
  COLOR_UNSPECIFIED = 0;
  COLOR_RED = 1; // Like a tomato.
}

// Things serves things.
service Things {
  // GetThing returns a thing. It never fails.
  //
  // Errors:
  // * NOT_FOUND: no such thing.
  rpc GetThing(Thing) returns (Thing);
}
"""


def _descriptors(tmp_path: Path) -> descriptor_pb2.FileDescriptorSet:
    (tmp_path / "demo.proto").write_text(PROTO)
    out = tmp_path / "set.binpb"
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{tmp_path}",
        f"-I{well_known}",
        "--include_source_info",
        f"--descriptor_set_out={out}",
        "demo.proto",
    ]
    assert protoc.main(args) == 0
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def test_every_kind_of_declaration_finds_its_comment(tmp_path: Path) -> None:
    comments = comments_of(_descriptors(tmp_path))
    assert comments == {
        "demo.v1.Thing": "Thing is a thing.\n\nIt has two paragraphs.",
        "demo.v1.Thing.name": "The thing's name.",
        "demo.v1.Thing.size": "Trailing: in bytes.",
        "demo.v1.Thing.Inner": "Inner is nested.",
        "demo.v1.Thing.Inner.deep": "Deep field.",
        "demo.v1.Thing.left": "One of them.",
        "demo.v1.Color": "Color is an enum.",
        "demo.v1.Color.COLOR_UNSPECIFIED": "Nothing chosen.",
        "demo.v1.Color.COLOR_RED": "Like a tomato.",
        "demo.v1.Things": "Things serves things.",
        "demo.v1.Things.GetThing": (
            "GetThing returns a thing. It never fails.\n\nErrors:\n* NOT_FOUND: no such thing."
        ),
    }


def test_a_set_without_source_info_has_no_comments(tmp_path: Path) -> None:
    files = _descriptors(tmp_path)
    for file in files.file:
        file.ClearField("source_code_info")
    assert comments_of(files) == {}


def test_summaries_are_the_first_sentence_on_one_line() -> None:
    assert summary_of("Resolve turns `a`\ninto `b`. Then more.\n\nErrors: x") == (
        "Resolve turns `a` into `b`."
    )
    assert summary_of("No full stop") == "No full stop"
    assert clean(" first\n   indented list\n") == "first\n  indented list"
