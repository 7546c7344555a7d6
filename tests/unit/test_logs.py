"""Log lines: the text formatter's direct path writes what `logging.Formatter` writes of `FORMAT`."""

from __future__ import annotations

import logging
import sys

import orjson

from rejoinder.logs import FORMAT, JsonFormatter, TextFormatter


def _record(
    created: float, *, access: dict[str, object] | None = None, exc: bool = False
) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord(
        "rejoinder.access", logging.INFO, __file__, 1, "%s %s", ("rest", 200), exc_info
    )
    record.created, record.msecs = created, (created - int(created)) * 1000
    record.request_id = "req-1"
    if access is not None:
        record.access = access
    return record


def test_a_line_is_what_the_standard_formatter_makes_of_the_format() -> None:
    text = TextFormatter()
    for created in (1_700_000_000.25, 1_700_000_000.999, 1_700_000_001.0, 1_700_086_400.5):
        assert text.format(_record(created)) == logging.Formatter(FORMAT).format(_record(created))


def test_an_access_lines_fields_follow_and_empty_ones_are_left_out() -> None:
    access: dict[str, object] = {"status": "200", "trace_id": None, "error_code": "", "output_tokens": 0}
    line = TextFormatter().format(_record(1_700_000_000.5, access=access))
    assert line.endswith("]: rest 200 status=200 output_tokens=0")


def test_a_line_with_an_exception_carries_its_traceback() -> None:
    line = TextFormatter().format(_record(1_700_000_000.5, exc=True))
    assert line.startswith(logging.Formatter(FORMAT).formatTime(_record(1_700_000_000.5)))
    assert "ValueError: boom" in line


def test_json_time_is_utc_with_milliseconds_across_seconds() -> None:
    json = JsonFormatter()
    first = orjson.loads(json.format(_record(1_700_000_000.25)))
    second = orjson.loads(json.format(_record(1_700_000_001.5)))
    assert (first["time"], second["time"]) == ("2023-11-14T22:13:20.250Z", "2023-11-14T22:13:21.500Z")
