"""JSON values as the codec reads them into proto fields: the scalar kinds and their type errors."""

from __future__ import annotations

import orjson
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct

from rejoinder.errors import ApiError, invalid
from rejoinder.wire.plan import Kind

TOO_DEEP = "The request is nested too deeply."
TOO_DEEP_OR_ODD = "the value is nested too deeply or holds a number that JSON cannot represent."


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def type_error(param: str, expected: str, got: object) -> ApiError:
    """OpenAI's message for a value of the wrong JSON type."""
    return invalid(
        f"Invalid type for '{param}': expected {expected}, but got {_describe(got)} instead.",
        param=param,
        code="invalid_type",
    )


def plain(value: object) -> object:
    """Struct numbers are doubles; print whole ones as integers, as they were most likely sent."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _as_string(value: object, path: str) -> object:
    if not isinstance(value, str):
        raise type_error(path, "a string", value)
    return value


def _as_bool(value: object, path: str) -> object:
    if not isinstance(value, bool):
        raise type_error(path, "a boolean", value)
    return value


def _as_float(value: object, path: str) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise type_error(path, "a decimal", value)
    return float(value)


def _json_text(value: object, path: str) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as exc:  # nested too deeply, or a number JSON cannot hold
        raise invalid(f"Invalid '{path}': {TOO_DEEP_OR_ODD}", param=path, code="invalid_value") from exc


def _as_json_text(value: object, path: str) -> object:
    if not isinstance(value, dict):
        raise type_error(path, "an object", value)
    return _json_text(value, path)


def _as_json_value_text(value: object, path: str) -> object:
    return _json_text(value, path)


def _as_struct(value: object, path: str) -> object:
    if not isinstance(value, dict):
        raise type_error(path, "an object", value)
    struct = Struct()
    try:
        json_format.ParseDict(value, struct)
    except json_format.ParseError as exc:
        raise invalid(f"Invalid '{path}': {TOO_DEEP_OR_ODD}", param=path, code="invalid_value") from exc
    return struct


SCALARS = {
    Kind.STRING: _as_string,
    Kind.BOOL: _as_bool,
    Kind.FLOAT: _as_float,
    Kind.JSON_TEXT: _as_json_text,
    Kind.JSON_VALUE_TEXT: _as_json_value_text,
    Kind.STRUCT: _as_struct,
}
