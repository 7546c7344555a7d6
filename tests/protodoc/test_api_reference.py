"""Our proto comments and docs/api.md: every element is documented with its OpenAI mapping, and the
committed reference is exactly what the generator makes from the protos in the working tree."""

from __future__ import annotations

import re

from tests.protodoc.conftest import ROOT
from tools.protodoc.markdown import COMMAND, render
from tools.protodoc.rules import violations
from tools.protodoc.schema import load

REFERENCE = ROOT / "docs" / "api.md"


def test_every_element_has_a_comment_and_every_message_and_rpc_its_openai_mapping(api_image: bytes) -> None:
    api = load(api_image)
    assert {f.name for f in api.files} >= {
        "rejoinder/responses/v1/responses_service.proto",
        "rejoinder/responses/v1/openai_http.proto",
    }
    assert all(f.name.startswith("rejoinder/") for f in api.files)  # third_party is not ours to document
    broken = violations(api)
    assert not broken, f"{len(broken)} proto comments break the rules:\n" + "\n".join(broken)


def test_the_committed_reference_is_a_fresh_render(api_image: bytes) -> None:
    fresh = render(load(api_image))
    committed = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""
    assert committed == fresh, f"docs/api.md is stale: run `{COMMAND}` and commit it"


def test_the_reference_links_every_type_and_shows_every_rest_route(api_image: bytes) -> None:
    api = load(api_image)
    text = render(api)
    anchors = re.findall(r'<a id="([^"]+)"></a>', text)
    assert len(anchors) == len(set(anchors))
    assert set(re.findall(r"\]\(#([^)]+)\)", text)) <= set(anchors)
    for node in api.nodes():
        if node.kind in ("service", "rpc", "message", "enum", "extension"):
            assert node.full_name in anchors, node.full_name
    http = next(s for s in api.services if s.name == "OpenAIHttpService")
    for method in http.methods:
        assert method.http, f"{method.full_name} has no google.api.http route"
        for route in method.http:
            assert f"`{route.method} {route.path}`" in text
    assert "`POST /v1/responses` (body `*`)" in text
