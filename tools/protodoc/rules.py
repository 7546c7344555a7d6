"""The rules our proto comments keep (STYLE.md 1.1), as a list of what breaks them.

1. Every service, RPC, message, oneof, field, enum, enum value and extension of our files has a leading
   comment (a `//` block right above it; a trailing comment does not count).
2. A message's comment and an RPC's comment start with its OpenAI mapping, one of:
   - `OpenAI: <Type>`: the openai-python type it models, e.g. `OpenAI: ResponseOutputText.`; a member
     of a type is written `Type.member`, e.g. `OpenAI: Response.IncompleteDetails.` or
     `OpenAI: ResponseCreateParams.input.`
   - `OpenAI: <METHOD> <path>`: the OpenAI REST route it stands for, where the SDK has no type for it,
     e.g. `OpenAI: GET /v1/models.`
   - `Not in OpenAI: <what>`: it has no OpenAI counterpart (a gRPC envelope, the list wrapper a oneof
     needs, a service extension) and says what it is instead.
"""

from __future__ import annotations

import re

from tools.protodoc.schema import Api, Node

OPENAI_TYPE = r"[A-Z][A-Za-z0-9]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
OPENAI_ROUTE = r"(?:GET|POST|PUT|PATCH|DELETE) /\S+"
# A type name ends the sentence or is followed by punctuation, " (" or " /": "OpenAI: The body of ..." is
# prose, not a type.
MAPPING = re.compile(rf"^(?:OpenAI: (?:{OPENAI_TYPE}(?=$|[.,:;]|\s[(/])|{OPENAI_ROUTE})|Not in OpenAI: \S)")
MAPPED_KINDS = ("message", "rpc")


def missing_comment(node: Node) -> bool:
    return not node.comment.strip()


def missing_mapping(node: Node) -> bool:
    return node.kind in MAPPED_KINDS and MAPPING.match(node.comment) is None


def violations(api: Api) -> list[str]:
    """One line per broken rule, `file:line: kind full.name: what is wrong`, in file and line order."""
    found: list[str] = []
    for node in sorted(api.nodes(), key=lambda n: (n.file, n.line)):
        if missing_comment(node):
            found.append(f"{node.where}: {node.kind} {node.full_name}: no leading comment")
        elif missing_mapping(node):
            first = node.comment.split("\n", 1)[0]
            found.append(f"{node.where}: {node.kind} {node.full_name}: no OpenAI mapping first: {first!r}")
    return found
