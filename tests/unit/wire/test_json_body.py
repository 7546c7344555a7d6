"""Bodies parsed at once or in pieces give the same values; nesting beyond the limit is a 400."""

from __future__ import annotations

import orjson
import pytest

from rejoinder.errors import ApiError
from rejoinder.wire.json_body import INCREMENTAL_BYTES, MAX_DEPTH, parse_object

BODY = {
    "model": "m",
    "input": [
        {"role": "user", "content": f"é {i}", "x": [1.5, -2, None, True, {"k": []}]} for i in range(2000)
    ],
    "metadata": {},
}


async def test_a_big_body_is_read_in_pieces_to_the_same_values() -> None:
    raw = orjson.dumps(BODY)
    assert len(raw) > INCREMENTAL_BYTES
    assert await parse_object(raw) == BODY


def _nested(levels: int) -> bytes:
    return b'{"a":' * (levels - 1) + b"[1]" + b"}" * (levels - 1)


@pytest.mark.parametrize("pad", [0, INCREMENTAL_BYTES], ids=["at-once", "in-pieces"])
async def test_nesting_up_to_the_limit_is_read_and_beyond_it_refused(pad: int) -> None:
    spaces = b" " * pad
    assert await parse_object(spaces + _nested(MAX_DEPTH))
    with pytest.raises(ApiError) as refused:
        await parse_object(spaces + _nested(MAX_DEPTH + 1))
    assert refused.value.code == "invalid_json" and "nested too deeply" in refused.value.message


@pytest.mark.parametrize("raw", [b"{", b"[1,2]", b'"text"', b"{} {}", b'{"a": NaN}', b"\xff{}"])
@pytest.mark.parametrize("pad", [0, INCREMENTAL_BYTES], ids=["at-once", "in-pieces"])
async def test_what_is_not_one_json_object_is_a_400(raw: bytes, pad: int) -> None:
    with pytest.raises(ApiError) as refused:
        await parse_object(b" " * pad + raw)
    assert refused.value.kind.name == "INVALID_REQUEST" and "not valid JSON" in refused.value.message


async def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    """Counting `[` and `{` decides only whether the body is walked: in strings they nest nothing."""
    body = {"model": "m", "input": "[{" * MAX_DEPTH, "metadata": {"k": "{" * (2 * MAX_DEPTH)}}
    assert await parse_object(orjson.dumps(body)) == body
