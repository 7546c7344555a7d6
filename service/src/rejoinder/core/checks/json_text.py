"""JSON text fields (schemas): parsed in order, checked to be objects."""

from __future__ import annotations

import orjson

from rejoinder.errors import ApiError, invalid


def json_object(text: str) -> dict[str, object]:
    """The object a validated JSON text field holds, keys in their given order."""
    value = orjson.loads(text)
    assert isinstance(value, dict)
    return value


def check_json_object(text: str, param: str) -> None:
    """A 400 unless `text` is a JSON object (typed gRPC callers send these as strings)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise _not_object(param, "it is not valid JSON") from exc
    if not isinstance(value, dict):
        raise _not_object(param, "it is not a JSON object")


def _not_object(param: str, why: str) -> ApiError:
    return invalid(
        f"Invalid '{param}': expected a JSON schema object, but {why}.", param=param, code="invalid_value"
    )
