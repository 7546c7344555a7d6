"""The generator and the comment rules, on a small module that has every kind of element."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from tools.protodoc.__main__ import main
from tools.protodoc.markdown import render
from tools.protodoc.rules import violations
from tools.protodoc.schema import Api, load


def demo(image: bytes) -> Api:
    return load(image, prefix="acme/")


def test_only_files_under_the_prefix_are_read(demo_image: bytes) -> None:
    api = demo(demo_image)
    assert [f.name for f in api.files] == ["acme/demo/v1/demo.proto"]
    assert not api.defines("vendor.Lib")


def test_elements_without_a_leading_comment_are_listed_with_file_and_line(demo_image: bytes) -> None:
    found = violations(demo(demo_image))
    missing = [line for line in found if line.endswith("no leading comment")]
    assert missing == [
        "acme/demo/v1/demo.proto:19: rpc acme.demo.v1.DemoService.Undocumented: no leading comment",
        "acme/demo/v1/demo.proto:40: field acme.demo.v1.Thing.square: no leading comment",
        "acme/demo/v1/demo.proto:42: field acme.demo.v1.Thing.bare: no leading comment",
        "acme/demo/v1/demo.proto:49: message acme.demo.v1.Round.Inner: no leading comment",
        "acme/demo/v1/demo.proto:58: enum value acme.demo.v1.KIND_BIG: no leading comment",
        "acme/demo/v1/demo.proto:61: message acme.demo.v1.Bare: no leading comment",
    ]


def test_messages_and_rpcs_must_start_with_their_openai_mapping(demo_image: bytes) -> None:
    found = violations(demo(demo_image))
    unmapped = [re.sub(r"^\S+:\d+: ", "", line) for line in found if "no OpenAI mapping" in line]
    assert unmapped == [
        "rpc acme.demo.v1.DemoService.Unmapped: no OpenAI mapping first: 'Takes things in and answers once.'",
        "message acme.demo.v1.Wordy: no OpenAI mapping first: 'Just words, no mapping.'",
        "message acme.demo.v1.Vague: no OpenAI mapping first: "
        "'OpenAI: the body of something, which is prose and not a type.'",
    ]
    # Services, enums, fields and oneofs need a comment but no mapping; "OpenAI: Type",
    # "OpenAI: METHOD /path" and "Not in OpenAI: ..." are all mappings.
    assert len(found) == 9


def test_rpcs_show_streaming_and_every_rest_route(demo_image: bytes) -> None:
    text = render(demo(demo_image))
    assert (
        '| <a id="acme.demo.v1.DemoService.MakeThing"></a>`MakeThing` | [Thing](#acme.demo.v1.Thing) '
        "| stream [Thing](#acme.demo.v1.Thing) | `POST /v1/things` (body `*`)<br>`GET /v1/things/{id}` "
        "| OpenAI: POST /v1/things. Makes a thing and streams its versions. |"
    ) in text
    assert "| stream [Thing](#acme.demo.v1.Thing) | [Round](#acme.demo.v1.Round) |  |" in text


def test_fields_show_number_type_label_behavior_options_and_comment(demo_image: bytes) -> None:
    text = render(demo(demo_image))
    rows = [
        "| 1 | `id` | `string` |  | REQUIRED | The ID \\| the key. |",
        "| 2 | `tags` | `string` | repeated |  | Tags. |",
        "| 3 | `labels` | map&lt;`string`, [Kind](#acme.demo.v1.Kind)&gt; |  |  | Labels by name. |",
        "| 4 | `count` | `int64` | optional | OUTPUT_ONLY | How many. `deprecated = true` |",
        "| 5 | `round` | [Round](#acme.demo.v1.Round) | oneof `shape` |  | A round one. |",
        "| 6 | `square` | `string` | oneof `shape` |  |  |",
        "| 8 | `lib` | `vendor.Lib` |  |  | From elsewhere. |",
        "| 1 | `inner` | [Round.Inner](#acme.demo.v1.Round.Inner) |  |  | The inner part. |",
    ]
    for row in rows:
        assert row in text
    assert "- `oneof shape` (`round`, `square`): The shape." in text
    assert "OpenAI: Thing. A thing.\n\nIts second paragraph." in text


def test_enums_list_their_values(demo_image: bytes) -> None:
    text = render(demo(demo_image))
    assert '<a id="acme.demo.v1.Kind"></a>\n\n### Kind\n\nThe kind of a thing.' in text
    assert "| 0 | `KIND_UNSPECIFIED` | Not set. |\n| 1 | `KIND_BIG` |  |" in text
    assert "Used by: [Thing](#acme.demo.v1.Thing)." in text


def test_every_link_has_its_anchor_and_anchors_are_unique(demo_image: bytes) -> None:
    text = render(demo(demo_image))
    anchors = re.findall(r'<a id="([^"]+)"></a>', text)
    assert len(anchors) == len(set(anchors))
    assert set(re.findall(r"\]\(#([^)]+)\)", text)) <= set(anchors)
    assert "acme.demo.v1.Round.Inner" in anchors


def test_the_render_depends_only_on_the_descriptors(demo_image: bytes) -> None:
    fds = descriptor_pb2.FileDescriptorSet.FromString(demo_image)
    reversed_set = descriptor_pb2.FileDescriptorSet(file=list(reversed(fds.file)))
    assert render(demo(reversed_set.SerializeToString())) == render(demo(demo_image))


def test_the_command_writes_checks_and_lints(
    demo_image: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "demo.binpb"
    image.write_bytes(demo_image)
    out = tmp_path / "docs" / "api.md"
    args = ["--image", str(image), "--prefix", "acme/", "--out", str(out)]
    assert main(args) == 0
    assert out.read_text(encoding="utf-8") == render(demo(demo_image))
    assert main([*args, "--check"]) == 0
    out.write_text(out.read_text(encoding="utf-8") + "edited by hand\n", encoding="utf-8")
    assert main([*args, "--check"]) == 1
    assert "is stale" in capsys.readouterr().err
    absent = ["--image", str(image), "--prefix", "acme/", "--out", str(tmp_path / "absent.md")]
    assert main([*absent, "--check"]) == 1
    assert main([*args, "--lint"]) == 1
    err = capsys.readouterr().err
    assert "acme/demo/v1/demo.proto:61: message acme.demo.v1.Bare: no leading comment" in err
    assert err.endswith("9 proto comments break the rules\n")
