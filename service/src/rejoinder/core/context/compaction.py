"""Compaction items: a summary of earlier items, sealed, that a context carries in their place.

A compaction item's `encrypted_content` is a token of `sealing.py`'s format, under the server's keys
but bound to its own purpose (`AAD`: a reasoning token does not open as a compaction, nor the other
way round). It holds the summary the model wrote and the items the compaction keeps verbatim (the
newest turn for `context_management`, the user messages for `POST /v1/responses/compact`), so a client
that stores nothing can send it back alone.

What the model is sent for a context (`model_view`): the newest compaction item stands in for every
item before it (OpenAI: the items before the latest compaction item may be dropped, it carries what is
needed), as a developer message holding the summary (`SUMMARY_PREFIX`), then the items it keeps, then
the items after it. The stored history never changes: only what is sent does.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from rejoinder.core.context.sealing import ReasoningSealer, SealError
from rejoinder.errors import ApiError, invalid
from rejoinder.providers import base as p
from rejoinder.responses.v1.content_pb2 import Content, ContentList, InputText, MessageContent
from rejoinder.responses.v1.items_pb2 import CompactionItem, InputItem, Message, OutputItem

AAD = b"rejoinder.compaction.v1"
ID_PREFIX = "cmp"
SUMMARY_PREFIX = "Summary of the earlier conversation, which it replaces:\n\n"


@dataclass(frozen=True)
class Compaction:
    """What a compaction item holds: the summary and the items it keeps."""

    summary: str
    kept: tuple[InputItem, ...] = ()


@dataclass(frozen=True)
class Compacted:
    """A compaction made for a create (`context_management`, or a `compaction_trigger`): the output
    item that starts the response's output, and the usage of the summarising call. `final`: the item
    is the whole output (a `compaction_trigger`: the model is not called to answer)."""

    item: OutputItem
    usage: p.UsageDelta
    final: bool = False


def compaction_sealer(sealer: ReasoningSealer | None, param: str | None) -> ReasoningSealer:
    """The sealer of compaction items (the server's keys, compaction's purpose). Raises 400 (naming
    `param`, the part of the request that needs it) when the server has no keys."""
    if sealer is None:
        raise invalid("Compaction is not configured on this server.", param=param)
    return sealer.for_purpose(AAD, "compaction")


def seal(sealer: ReasoningSealer, compaction: Compaction) -> str:
    """The token for `compaction` (`sealer` from `compaction_sealer`)."""
    kept = [base64.b64encode(item.SerializeToString()).decode() for item in compaction.kept]
    return sealer.seal([compaction.summary, *kept])


def bad_token(exc: Exception, param: str) -> ApiError:
    """The 400 for a compaction token that is not ours, was altered, or whose key is gone."""
    return invalid(
        f"The compaction item's encrypted content could not be verified: {exc}.",
        param=param,
        code="invalid_encrypted_content",
    )


def open_token(sealer: ReasoningSealer, token: str, param: str) -> Compaction:
    """What `token` holds. Raises 400 `invalid_encrypted_content` naming `param`."""
    try:
        parts = sealer.open(token)
        if not parts:
            raise SealError("compaction token holds no summary")
        kept = tuple(InputItem.FromString(base64.b64decode(raw, validate=True)) for raw in parts[1:])
    except (SealError, DecodeError, ValueError) as exc:
        raise bad_token(exc, param) from exc
    return Compaction(parts[0], kept)


def summary_item(summary: str) -> InputItem:
    """The developer message the model is sent in a compaction's place."""
    text = Content(input_text=InputText(text=SUMMARY_PREFIX + summary))
    content = MessageContent(parts=ContentList(items=[text]))
    return InputItem(message=Message(role="developer", content=content))


def last_compaction(items: Sequence[InputItem]) -> int | None:
    """The index of the newest compaction item, None without one."""
    for i in range(len(items) - 1, -1, -1):
        if items[i].WhichOneof("item") == "compaction":
            return i
    return None


def model_view(
    items: Sequence[InputItem], sealer: ReasoningSealer | None, param: str = "input"
) -> tuple[InputItem, ...] | None:
    """What the model is sent for `items` (see the module docstring); None when they hold no compaction
    item (then the items themselves are sent). Raises 400 when the newest one does not open."""
    at = last_compaction(items)
    if at is None:
        return None
    opened = open_token(compaction_sealer(sealer, param), items[at].compaction.encrypted_content, param)
    return (summary_item(opened.summary), *opened.kept, *items[at + 1 :])


def compaction_output(item_id: str, token: str) -> OutputItem:
    """The compaction output item."""
    return OutputItem(compaction=CompactionItem(id=item_id, encrypted_content=token))
