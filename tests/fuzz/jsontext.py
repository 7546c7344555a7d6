"""Generated values to request bytes, and back to plain Python for the service's own codec."""

from __future__ import annotations

import json
import re

from tests.fuzz.values import Deep

_PLACEHOLDER = re.compile(r'"\\u0000deep(\d+)\\u0000"')


def _swap_deep(value: object, found: list[Deep]) -> object:
    """`value` with every `Deep` replaced by a placeholder string naming its index in `found`."""
    if isinstance(value, Deep):
        found.append(value)
        return f"\x00deep{len(found) - 1}\x00"
    if isinstance(value, dict):
        return {k: _swap_deep(v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap_deep(v, found) for v in value]
    return value


def dumps(value: object, *, ensure_ascii: bool = True) -> bytes:
    """JSON bytes. Lone surrogates go out as `\\ud800` escapes (ensure_ascii) or as the invalid UTF-8
    they encode to; non-finite floats as the bare `NaN`/`Infinity` tokens, which are not JSON."""
    found: list[Deep] = []
    text = json.dumps(_swap_deep(value, found), ensure_ascii=ensure_ascii, allow_nan=True)
    if found:  # json.dumps always escapes NUL, so each placeholder reads `"\u0000deepN\u0000"`
        text = _PLACEHOLDER.sub(lambda m: found[int(m.group(1))].text(), text)
    return text.encode("utf-8", "surrogatepass")


def materialize(value: object) -> object:
    """Plain JSON-like Python (a `Deep` built out), as `orjson.loads` would have returned it."""
    if isinstance(value, Deep):
        return value.build()
    if isinstance(value, dict):
        return {k: materialize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [materialize(v) for v in value]
    return value


def size_hint(value: object) -> int:
    """About how many bytes `dumps` writes, without writing it (for growing arrays under a budget)."""
    if isinstance(value, Deep):
        return len(value.text())
    if isinstance(value, dict):
        return 2 + sum(len(k) + 4 + size_hint(v) for k, v in value.items())
    if isinstance(value, list):
        return 2 + sum(1 + size_hint(v) for v in value)
    if isinstance(value, str):
        return len(value) * 2 + 2
    return 24


class Shown:
    """A generated value whose repr (printed by hypothesis for a failing example) stays readable."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        text = repr(self.value)
        return text if len(text) <= 1500 else f"{text[:1500]}... ({len(text)} chars in all)"
