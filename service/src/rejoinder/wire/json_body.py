"""A request's JSON body, parsed without holding the event loop.

A body up to `INCREMENTAL_BYTES` is parsed at once with orjson (well under a millisecond). A bigger one
(up to the body limit, 32 MiB by default) would hold the loop for tens of milliseconds in one call, so it
is fed to ijson's C parser (yajl2) in pieces of `PIECE_BYTES`, and the loop gets a turn whenever the
pacing budget is spent (see `rejoinder.pacing`). Both give the same Python values (floats for decimals).
"""

from __future__ import annotations

import ijson
import orjson

from rejoinder.errors import invalid
from rejoinder.pacing import pace

INCREMENTAL_BYTES = 64 * 1024
PIECE_BYTES = 32 * 1024

BAD_JSON = (
    "We could not parse the JSON body of your request. The API expects a JSON payload, "
    "but what was sent was not valid JSON."
)


async def _parse_in_pieces(raw: bytes) -> object:
    found = ijson.sendable_list()
    parser = ijson.items_coro(found, "", use_float=True, multiple_values=False)
    view = memoryview(raw)
    try:
        for start in range(0, len(raw), PIECE_BYTES):
            parser.send(bytes(view[start : start + PIECE_BYTES]))
            await pace()
        parser.close()
    except (ijson.JSONError, ValueError) as exc:  # ValueError: text that is not UTF-8
        raise invalid(BAD_JSON) from exc
    if len(found) != 1:
        raise invalid(BAD_JSON)
    return found[0]


async def parse_object(raw: bytes) -> dict[str, object]:
    """The body as a JSON object. Raises `ApiError` (400) for anything else."""
    if len(raw) <= INCREMENTAL_BYTES:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise invalid(BAD_JSON) from exc
    else:
        data = await _parse_in_pieces(raw)
    if not isinstance(data, dict):
        raise invalid(BAD_JSON)
    return data
