"""Logging: every line a call causes carries that call's request id; text or one JSON object per line.

The request id is Envoy's `x-request-id` (kept from the client or made by Envoy), read once per call by
`api.calls`; a direct gRPC call without one gets a short id of its own. It lives in a context variable,
so each call's task (and a background run started from it) logs its own id. Lines logged outside any
call show "-". Access lines (`observe.access`) carry their fields as `extra={"access": {...}}`: keys of
the JSON object, or `key=value` after the text message.
"""

from __future__ import annotations

import contextlib
import io
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import NamedTuple, TextIO

import orjson

REQUEST_ID: ContextVar[str] = ContextVar("rejoinder_request_id", default="-")
REQUEST_ID_HEADER = "x-request-id"
MAX_ID_CHARS = 128
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestIdFilter(logging.Filter):
    """Puts the current call's request id on each record, as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record."""
        record.request_id = REQUEST_ID.get()
        return True


class _Seconds:
    """A time format of whole seconds, made once per second (strftime costs more than the rest of a
    line)."""

    def __init__(self, fmt: str, convert: Callable[[float | None], time.struct_time]) -> None:
        self._fmt = fmt
        self._convert = convert
        self._last = (-1, "")  # one tuple, swapped whole: lines are formatted on other threads too

    def __call__(self, created: float) -> str:
        second = int(created)
        last = self._last
        if second != last[0]:
            last = self._last = (second, time.strftime(self._fmt, self._convert(created)))
        return last[1]


class TextFormatter(logging.Formatter):
    """`FORMAT`, then an access line's fields as `key=value`. A line without an exception or a stack is
    put together directly (the same text `logging.Formatter` makes of `FORMAT`, without its layers:
    one line per call is a hot path)."""

    def __init__(self) -> None:
        super().__init__(FORMAT)
        self._seconds = _Seconds(self.default_time_format, self.converter)

    def format(self, record: logging.LogRecord) -> str:
        """The line."""
        if record.exc_info or record.exc_text or record.stack_info:
            line = super().format(record)
        else:
            record.message = record.getMessage()
            request_id = record.__dict__.get("request_id", "-")
            line = self._line(record.created, record.levelname, record.name, request_id, record.message)
        access = record.__dict__.get("access")
        if isinstance(access, dict):
            line += _pairs(access)
        return line

    def info_line(self, line: InfoLine) -> str:
        """What `format` makes of an INFO record with access fields (see `AccessLine`)."""
        return self._line(line.created, "INFO", line.name, line.request_id, line.message) + _pairs(
            line.access
        )

    def _line(self, created: float, level: str, name: str, request_id: str, message: str) -> str:
        stamp = f"{self._seconds(created)},{_millis(created):03d}"
        return f"{stamp} {level} {name} [{request_id}]: {message}"


def _millis(created: float) -> int:
    """The milliseconds of a time, as `LogRecord.msecs` has them."""
    return int((created - int(created)) * 1000)


def _pairs(access: dict[str, object]) -> str:
    """An access line's fields as ` key=value`, empty ones left out."""
    return "".join([f" {k}={v}" for k, v in access.items() if v is not None and v != ""])


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request_id, message, an access line's fields, and
    the exception's text when there is one."""

    def __init__(self) -> None:
        super().__init__()
        self._seconds = _Seconds("%Y-%m-%dT%H:%M:%S", time.gmtime)

    def format(self, record: logging.LogRecord) -> str:
        """The line."""
        request_id = record.__dict__.get("request_id", "-")
        out = self._object(record.created, record.levelname, record.name, request_id, record.getMessage())
        access = record.__dict__.get("access")
        if isinstance(access, dict):
            out.update(access)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out).decode()

    def info_line(self, line: InfoLine) -> str:
        """What `format` makes of an INFO record with access fields (see `AccessLine`)."""
        out = self._object(line.created, "INFO", line.name, line.request_id, line.message)
        out.update(line.access)
        return orjson.dumps(out).decode()

    def _object(
        self, created: float, level: str, name: str, request_id: str, message: str
    ) -> dict[str, object]:
        return {
            "time": f"{self._seconds(created)}.{_millis(created):03d}Z",
            "level": level,
            "logger": name,
            "request_id": request_id,
            "message": message,
        }


class InfoLine(NamedTuple):
    """An INFO line with access fields, as it stood when it was logged (it may be written later)."""

    created: float  # `time.time()` when it was logged
    request_id: str
    name: str  # the logger's
    message: str
    access: dict[str, object]


class AccessLine:
    """Writes INFO lines with access fields straight to the stream of the root handler `configure`
    installed, formatted by its formatter's `info_line`: the text `logging` would write of the same
    records, without making them (a LogRecord, the handler chain and the generic path of `format` were
    about 20 us of a request's CPU: bench/README.md), several lines in one write. Only where that handler
    is the root logger's one handler, with its formatter and request-id filter only (`found`); elsewhere
    the caller logs."""

    def __init__(
        self, handler: logging.StreamHandler[TextIO], formatter: TextFormatter | JsonFormatter
    ) -> None:
        self._handler = handler
        self._formatter = formatter

    @classmethod
    def found(cls, logger: logging.Logger) -> AccessLine | None:
        """The direct writer for `logger`'s INFO lines, when its lines end in `configure`'s handler
        and nowhere else."""
        handlers = logging.getLogger().handlers
        if (
            len(handlers) != 1
            or logging.root.filters
            or logger.handlers
            or logger.filters
            or not logger.propagate
        ):
            return None
        handler, formatter = handlers[0], handlers[0].formatter
        if not isinstance(handler, logging.StreamHandler) or type(handler) is not logging.StreamHandler:
            return None  # a subclass (a file, a socket, pytest's capture) writes its own way
        filtered = [type(f) for f in handler.filters] == [RequestIdFilter]
        if handler.level > logging.INFO or not filtered:
            return None
        if not isinstance(formatter, TextFormatter | JsonFormatter):
            return None
        parent = logger.parent
        while parent is not None and parent is not logging.root:
            if parent.handlers or parent.filters or not parent.propagate:
                return None
            parent = parent.parent
        return cls(handler, formatter)

    def write(self, lines: Sequence[InfoLine]) -> None:
        """INFO lines, in one write (the caller checked the logger is enabled for INFO)."""
        handler = self._handler
        end = handler.terminator
        text = "".join([self._formatter.info_line(line) + end for line in lines])
        with handler.lock or contextlib.nullcontext():
            stream = handler.stream
            stream.write(text)
            if not (isinstance(stream, io.TextIOWrapper) and stream.line_buffering):
                stream.flush()


def bind_request_id(sent: str | bytes | None) -> str:
    """Make `sent` (or a new id when none came) the current call's request id; returns it."""
    text = sent.decode(errors="replace") if isinstance(sent, bytes) else sent
    request_id = (text or "")[:MAX_ID_CHARS] or f"grpc-{secrets.token_hex(8)}"
    REQUEST_ID.set(request_id)
    return request_id


CHATTY = ("httpx", "httpx2", "httpcore", "mcp")


def configure(level: str, log_format: str = "text") -> None:
    """Log to stderr at `level`, each line with its request id, as text or JSON (`log_format`).

    No line shows the caller's file, thread or process, so records are not given them (the logging
    HOWTO's "Optimization": each costs a stack walk or a lookup per line)."""
    logging._srcfile = None  # the documented switch for caller information
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging.basicConfig(level=level.upper())
    formatter: logging.Formatter = JsonFormatter() if log_format == "json" else TextFormatter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(formatter)
    for chatty in CHATTY:  # a line per upstream request is not ours
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
