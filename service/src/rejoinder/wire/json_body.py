"""A request's JSON body, parsed without holding the event loop, and never nested too deeply.

A body up to `INCREMENTAL_BYTES` is parsed at once with orjson (well under a millisecond). A bigger one
(up to the body limit, 32 MiB by default) would hold the loop for tens of milliseconds in one call, so it
is fed to ijson's C tokenizer (yajl2) in pieces of `PIECE_BYTES`, its values built here, and the loop gets
a turn whenever the pacing budget is spent (see `rejoinder.pacing`). Both give the same Python values
(floats for decimals). Nesting deeper than `MAX_DEPTH` is a 400 either way: nothing a request carries
needs it, and deeper values cost memory and recursion further on.
"""

from __future__ import annotations

import ijson
import orjson

from rejoinder.errors import ApiError, invalid
from rejoinder.pacing import pace

INCREMENTAL_BYTES = 64 * 1024
PIECE_BYTES = 32 * 1024
MAX_DEPTH = 128

BAD_JSON = (
    "We could not parse the JSON body of your request. The API expects a JSON payload, "
    "but what was sent was not valid JSON."
)
TOO_DEEP = (
    f"The JSON body of your request is nested too deeply: at most {MAX_DEPTH} levels of arrays and objects."
)


def _too_deep(param: str | None = None) -> ApiError:
    if param is None:
        return invalid(TOO_DEEP, code="invalid_json")
    return invalid(
        f"Invalid '{param}': nested too deeply: at most {MAX_DEPTH} levels of arrays and objects.",
        param=param,
        code="invalid_value",
    )


class _Builder:
    """Python values from ijson's basic events (no prefixes: their cost grows with the depth)."""

    def __init__(self) -> None:
        self.root: list[object] = []
        self._open: list[dict[str, object] | list[object]] = []
        self._keys: list[str] = []

    def _add(self, value: object) -> None:
        if not self._open:
            self.root.append(value)
            return
        top = self._open[-1]
        if isinstance(top, list):
            top.append(value)
        else:
            top[self._keys[-1]] = value

    def event(self, kind: str, value: object) -> None:
        if kind == "map_key":
            self._keys[-1] = str(value)
        elif kind in ("start_map", "start_array"):
            made: dict[str, object] | list[object] = {} if kind == "start_map" else []
            self._add(made)
            self._open.append(made)
            if kind == "start_map":
                self._keys.append("")
            if len(self._open) > MAX_DEPTH:
                raise _too_deep()
        elif kind in ("end_map", "end_array"):
            self._open.pop()
            if kind == "end_map":
                self._keys.pop()
        else:
            self._add(value)


async def _parse_in_pieces(raw: bytes | memoryview) -> object:
    events = ijson.sendable_list()
    parser = ijson.basic_parse_coro(events, use_float=True, multiple_values=False)
    built = _Builder()
    view = memoryview(raw)
    try:
        for start in range(0, len(raw), PIECE_BYTES):
            parser.send(bytes(view[start : start + PIECE_BYTES]))
            for kind, value in events:
                built.event(kind, value)
            del events[:]
            await pace()
        parser.close()
        for kind, value in events:
            built.event(kind, value)
    except (ijson.JSONError, ValueError) as exc:  # ValueError: text that is not UTF-8
        raise invalid(BAD_JSON) from exc
    if len(built.root) != 1:
        raise invalid(BAD_JSON)
    return built.root[0]


def check_depth(value: object, param: str | None = None) -> None:
    """Raises the 400 for containers nested deeper than `MAX_DEPTH` (orjson allows 1,024), naming
    `param` when the value is one parameter's (else the whole body)."""
    level: list[object] = [value]
    for _ in range(MAX_DEPTH):
        inner: list[object] = []
        for container in level:
            if isinstance(container, dict):
                inner.extend(v for v in container.values() if isinstance(v, dict | list))
            elif isinstance(container, list):
                inner.extend(v for v in container if isinstance(v, dict | list))
        if not inner:
            return
        level = inner
    raise _too_deep(param)


def may_nest_too_deep(raw: bytes | memoryview) -> bool:
    """Whether `raw` opens more than `MAX_DEPTH` containers: nesting deeper than that takes that many
    `[` or `{` (those inside strings only add to the count), so a body with fewer needs no walk."""
    data = raw if isinstance(raw, bytes) else raw.tobytes()
    return data.count(b"[") + data.count(b"{") > MAX_DEPTH


async def parse_object(raw: bytes | memoryview) -> dict[str, object]:
    """The body as a JSON object. Raises `ApiError` (400) for anything else."""
    if len(raw) <= INCREMENTAL_BYTES:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise invalid(BAD_JSON) from exc
        if may_nest_too_deep(raw):
            check_depth(data)
    else:
        data = await _parse_in_pieces(raw)
    if not isinstance(data, dict):
        raise invalid(BAD_JSON)
    return data
