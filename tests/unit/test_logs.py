"""Log lines: the text formatter's direct path writes what `logging.Formatter` writes of `FORMAT`."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import sys
import time
from collections.abc import Iterator

import orjson
import pytest

from rejoinder.logs import FORMAT, REQUEST_ID, AccessLine, JsonFormatter, RequestIdFilter, TextFormatter
from rejoinder.observe.access import AccessLog
from rejoinder.observe.observer import Observer
from rejoinder.observe.record import CallRecord


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


# -- access lines written directly -------------------------------------------------------------------


@contextlib.contextmanager
def _root_writing_to(stream: io.StringIO, formatter: logging.Formatter) -> Iterator[logging.Handler]:
    """The root logger as `configure` leaves it (one stream handler, the request-id filter), for a while."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(formatter)
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers = [handler]
    root.setLevel(logging.INFO)  # (`setLevel`: the loggers forget what they found enabled before)
    try:
        yield handler
    finally:
        root.handlers = saved
        root.setLevel(level)


RECORD = CallRecord(
    surface="rest", route="CreateResponse", request_id="req-9", tenant="acme", model="m", status="200"
)


@pytest.mark.parametrize("formatter", [TextFormatter, JsonFormatter], ids=["text", "json"])
def test_a_direct_access_line_is_the_line_logging_writes(formatter: type[logging.Formatter]) -> None:
    REQUEST_ID.set("req-9")
    through_logging, direct = io.StringIO(), io.StringIO()
    with _root_writing_to(through_logging, formatter()):
        AccessLog().call_ended(RECORD, 0.0123)
    with _root_writing_to(direct, formatter()):
        writer = AccessLog.configured()
        assert AccessLine.found(logging.getLogger("rejoinder.access")) is not None
        writer.call_ended(RECORD, 0.0123)

    def without_time(text: str) -> str:
        line = text.removesuffix("\n")
        assert "\n" not in line
        if formatter is JsonFormatter:
            fields = orjson.loads(line)
            assert fields["time"].endswith("Z")
            return str({k: v for k, v in fields.items() if k != "time"})
        stamp, _, rest = line.partition(" INFO ")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", stamp)
        return rest

    assert without_time(direct.getvalue()) == without_time(through_logging.getvalue())
    assert "rest CreateResponse 200" in direct.getvalue() and "req-9" in direct.getvalue()


def test_access_lines_go_through_logging_where_it_is_configured_otherwise() -> None:
    stream = io.StringIO()
    with _root_writing_to(stream, TextFormatter()) as handler:
        logging.getLogger().addHandler(logging.NullHandler())  # a second handler: lines go to both
        assert AccessLine.found(logging.getLogger("rejoinder.access")) is None
        logging.getLogger().removeHandler(logging.getLogger().handlers[-1])
        handler.setFormatter(logging.Formatter())  # a formatter of someone else's
        assert AccessLine.found(logging.getLogger("rejoinder.access")) is None


def test_no_access_line_when_the_level_is_above_info() -> None:
    stream = io.StringIO()
    with _root_writing_to(stream, TextFormatter()):
        writer = AccessLog.configured()
        logging.getLogger().setLevel(logging.WARNING)
        writer.call_ended(RECORD, 0.5)
    assert stream.getvalue() == ""


# -- access lines written in batches -----------------------------------------------------------------


def _call(request_id: str, status: str) -> CallRecord:
    return CallRecord(surface="rest", route="CreateResponse", request_id=request_id, status=status)


def _batching(flush_s: float) -> AccessLog:
    """The access log `configure` sets up (direct), with lines waiting up to `flush_s`."""
    return AccessLog(AccessLine.found(logging.getLogger("rejoinder.access")), flush_s=flush_s)


def _request_ids(text: str) -> list[str]:
    return [orjson.loads(line)["request_id"] for line in text.splitlines()]


async def test_lines_of_calls_that_succeeded_are_written_together_with_the_time_their_call_ended() -> None:
    stream = io.StringIO()
    with _root_writing_to(stream, JsonFormatter()):
        writer = _batching(0.2)
        writer.call_ended(_call("ok-1", "200"), 0.01)
        writer.call_ended(_call("ok-2", "OK"), 0.01)
        ended = time.time()
        assert stream.getvalue() == ""  # they wait
        await asyncio.sleep(0.35)
        written = time.time()
    assert _request_ids(stream.getvalue()) == ["ok-1", "ok-2"]
    assert stream.getvalue().count("\n") == 2
    stamps = [orjson.loads(line)["time"] for line in stream.getvalue().splitlines()]
    assert all(stamp <= _utc_millis(ended) < _utc_millis(written) for stamp in stamps)


def _utc_millis(seconds: float) -> str:
    """A time as the JSON lines write it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1000):03d}Z"


async def test_a_call_that_did_not_succeed_is_written_at_once_after_the_lines_waiting() -> None:
    stream = io.StringIO()
    with _root_writing_to(stream, JsonFormatter()):
        writer = _batching(60)
        writer.call_ended(_call("ok-1", "200"), 0.01)
        writer.call_ended(_call("bad-1", "400"), 0.01)
        assert _request_ids(stream.getvalue()) == ["ok-1", "bad-1"]
        writer.call_ended(_call("ok-2", "200"), 0.01)
        writer.call_ended(_call("gone-1", "CANCELLED"), 0.01)
        assert _request_ids(stream.getvalue()) == ["ok-1", "bad-1", "ok-2", "gone-1"]


async def test_the_lines_waiting_are_written_when_the_server_stops() -> None:
    stream = io.StringIO()
    with _root_writing_to(stream, TextFormatter()):
        observer = Observer(access_log=AccessLog.configured())
        observer.call_ended(_call("ok-1", "200"), 0.01)
        assert stream.getvalue() == ""
        observer.flush()
        assert stream.getvalue().count(" INFO rejoinder.access [ok-1]: rest CreateResponse 200 ") == 1
        await asyncio.sleep(0.15)  # nothing is written twice
    assert stream.getvalue().count("\n") == 1
