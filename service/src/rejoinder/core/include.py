"""Output that a response shows only when `include` asks for it, though it is always made and stored.

`file_search_call.results`: a search's results stay on its `file_search_call` item (the model reads
them on later turns, through `previous_response_id` or a conversation), and are shown in the events,
the response and a later retrieve only when that request's `include` has the value, as OpenAI does.

Shown, an empty list prints `[]`; withheld, it prints `null`. A repeated field cannot tell the two
apart, so `withhold` clears what is not shown and `shown_fields` names what is, for the JSON codec
(`OpenAIJson.showing`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from google.protobuf.message import Message

from rejoinder.responses.v1.items_pb2 import OutputItem


@dataclass(frozen=True)
class _Shown:
    """A field of one kind of output item that is shown only when `include` asks for it."""

    case: str  # the `OutputItem` case
    field: str
    holder: Callable[[OutputItem], Message]  # the item's message of that case


SHOWN_WHEN_INCLUDED = {
    "file_search_call.results": _Shown("file_search_call", "results", lambda item: item.file_search_call)
}
"""include value -> the field shown only then."""


def withhold(output: Iterable[OutputItem], include: Collection[str]) -> None:
    """Clear, in place, what `include` did not ask to see."""
    hidden = [shown for value, shown in SHOWN_WHEN_INCLUDED.items() if value not in include]
    if not hidden:
        return
    for item in output:
        case = item.WhichOneof("item")
        for shown in hidden:
            if case == shown.case:
                shown.holder(item).ClearField(shown.field)


def _full_name(case: str, field: str) -> str:
    message = OutputItem.DESCRIPTOR.fields_by_name[case].message_type
    assert message is not None
    return str(message.fields_by_name[field].full_name)


def shown_fields(include: Collection[str]) -> frozenset[str]:
    """The full proto names of the fields `include` asks to see (`...FileSearchCall.results`): printed
    `[]` when empty, where a withheld one prints `null`."""
    if not include:
        return frozenset()
    return frozenset(
        _full_name(shown.case, shown.field)
        for value, shown in SHOWN_WHEN_INCLUDED.items()
        if value in include
    )
