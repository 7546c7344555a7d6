"""Descriptor sets for the API reference tests: our proto module as `buf build` makes it, and a small
module written here that has every kind of element, some of them without comments."""

from __future__ import annotations

import os
from pathlib import Path

import grpc_tools
import pytest
from grpc_tools import protoc

from tools.protodoc.schema import build_image

ROOT = Path(__file__).resolve().parents[2]

DEMO = """\
syntax = "proto3";

package acme.demo.v1;

import "google/api/annotations.proto";
import "google/api/field_behavior.proto";
import "vendor/lib.proto";

// Things, made and listed.
service DemoService {
  // OpenAI: POST /v1/things. Makes a thing and streams its versions.
  rpc MakeThing(Thing) returns (stream Thing) {
    option (google.api.http) = {
      post: "/v1/things"
      body: "*"
      additional_bindings {get: "/v1/things/{id}"}
    };
  }
  rpc Undocumented(Thing) returns (Thing);
  // Takes things in and answers once.
  rpc Unmapped(stream Thing) returns (Round);
}

// OpenAI: Thing. A thing.
//
// Its second paragraph.
message Thing {
  // The ID | the key.
  string id = 1 [(google.api.field_behavior) = REQUIRED];
  // Tags.
  repeated string tags = 2;
  // Labels by name.
  map<string, Kind> labels = 3;
  // How many.
  optional int64 count = 4 [(google.api.field_behavior) = OUTPUT_ONLY, deprecated = true];
  // The shape.
  oneof shape {
    // A round one.
    Round round = 5;
    string square = 6; // a trailing comment is not a leading one
  }
  int32 bare = 7;
  // From elsewhere.
  vendor.Lib lib = 8;
}

// Not in OpenAI: a round shape.
message Round {
  message Inner {}
  // The inner part.
  Inner inner = 1;
}

// The kind of a thing.
enum Kind {
  // Not set.
  KIND_UNSPECIFIED = 0;
  KIND_BIG = 1;
}

message Bare {}

// Just words, no mapping.
message Wordy {}

// OpenAI: the body of something, which is prose and not a type.
message Vague {}
"""

VENDOR = """\
syntax = "proto3";

package vendor;

message Lib {
  string name = 1;
}
"""


def compile_demo(tmp: Path, files: dict[str, str]) -> bytes:
    """A FileDescriptorSet with source info and imports, as grpcio-tools' protoc makes it."""
    for name, text in files.items():
        path = tmp / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    out = tmp / "demo.binpb"
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    args = [
        "protoc",
        f"-I{tmp / 'src'}",
        f"-I{ROOT / 'proto' / 'third_party'}",
        f"-I{well_known}",
        "--include_source_info",
        "--include_imports",
        f"--descriptor_set_out={out}",
        *(str(tmp / "src" / name) for name in files),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {list(files)}")
    return out.read_bytes()


@pytest.fixture(scope="session")
def demo_image(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    files = {"acme/demo/v1/demo.proto": DEMO, "vendor/lib.proto": VENDOR}
    return compile_demo(tmp_path_factory.mktemp("demo"), files)


@pytest.fixture(scope="session")
def api_image() -> bytes:
    """Our proto module, built by buf from the working tree."""
    return build_image(ROOT)
