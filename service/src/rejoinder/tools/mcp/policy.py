"""Outbound MCP policy: settings, URL and host checks, transport choice, secret scrubbing.

Pure functions, no I/O and no `mcp` import; `tools/mcp/client.py` applies them before it opens anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import SplitResult, urlsplit

from rejoinder.tools.mcp.contract import McpError, McpErrorKind, McpServerSpec

TransportChoice = Literal["auto", "streamable_http", "sse"]
Transport = Literal["streamable_http", "sse"]

_REDACTED = "[redacted]"
_DETAIL_LIMIT = 300


@dataclass(frozen=True)
class McpSettings:
    """Limits for outbound MCP connections (built by `config.py`).

    Host patterns are an exact host (`mcp.example.com`, `127.0.0.1`), a suffix wildcard
    (`*.example.com`, which matches subdomains, not `example.com` itself) or `*` (every host).
    An empty `allow_hosts` allows every host; `deny_hosts` wins over `allow_hosts`.
    `transport="auto"` picks SSE for a URL path ending in `/sse` and streamable HTTP otherwise,
    falling back to SSE when the streamable HTTP endpoint answers 404/405; the other values force
    one transport.
    """

    connect_timeout_s: float = 10.0
    call_timeout_s: float = 60.0
    list_timeout_s: float = 30.0
    allow_hosts: tuple[str, ...] = ()
    deny_hosts: tuple[str, ...] = ()
    transport: TransportChoice = "auto"


@dataclass(frozen=True)
class Target:
    """A checked server URL: where it goes and which transport to try first."""

    url: str
    host: str
    transport: Transport
    sse_fallback: bool


def normalize_host(host: str) -> str:
    """Lower-case, without a trailing dot or IPv6 brackets."""
    return host.strip().strip("[]").rstrip(".").lower()


def host_matches(host: str, pattern: str) -> bool:
    """Whether `host` matches one pattern: exact, `*.suffix` for any subdomain of suffix, `*` for all."""
    host = normalize_host(host)
    pattern = normalize_host(pattern)
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def host_allowed(host: str, settings: McpSettings) -> bool:
    """Deny wins; an empty allow list allows everything not denied."""
    if any(host_matches(host, pattern) for pattern in settings.deny_hosts):
        return False
    return not settings.allow_hosts or any(host_matches(host, p) for p in settings.allow_hosts)


def _split(server: McpServerSpec) -> SplitResult:
    try:
        parts = urlsplit(server.url.strip())
        _ = parts.port  # raises ValueError for a malformed or out-of-range port
    except ValueError:
        raise McpError("connect", f"MCP server {server.label!r}: malformed server_url") from None
    return parts


def check_target(server: McpServerSpec, settings: McpSettings) -> Target:
    """Validate `server.url` against the policy. Raises `McpError("connect")` for a malformed URL and
    `McpError("blocked")` for a scheme other than http(s) or a host the policy refuses."""
    parts = _split(server)
    if not parts.scheme:
        raise McpError("connect", f"MCP server {server.label!r}: malformed server_url (no scheme)")
    if parts.scheme not in ("http", "https"):
        raise McpError("blocked", f"MCP server {server.label!r}: only http and https URLs are allowed")
    host = normalize_host(parts.hostname or "")
    if not host:
        raise McpError("connect", f"MCP server {server.label!r}: malformed server_url (no host)")
    if parts.username is not None or parts.password is not None:
        raise McpError("blocked", f"MCP server {server.label!r}: credentials in server_url are not allowed")
    if not host_allowed(host, settings):
        raise McpError("blocked", f"MCP server {server.label!r}: host {host!r} is not allowed")
    transport = choose_transport(parts.path, settings.transport)
    fallback = settings.transport == "auto" and transport == "streamable_http"
    return Target(url=server.url.strip(), host=host, transport=transport, sse_fallback=fallback)


def choose_transport(path: str, choice: TransportChoice) -> Transport:
    """SSE for a path ending in `/sse` (under "auto"), else streamable HTTP; a forced choice wins."""
    if choice != "auto":
        return choice
    return "sse" if path.rstrip("/").endswith("/sse") else "streamable_http"


def request_headers(server: McpServerSpec) -> dict[str, str]:
    """The headers sent with every request: `server.headers`, plus the bearer token when given."""
    headers = dict(server.headers)
    if server.authorization:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        headers["Authorization"] = f"Bearer {server.authorization}"
    return headers


def secrets_of(server: McpServerSpec) -> tuple[str, ...]:
    """Every credential-like value of `server`, longest first, for `scrub`."""
    values: list[str] = [v for v in server.headers.values() if len(v) >= 4]
    if server.authorization:
        values.append(server.authorization)
    return tuple(sorted(set(values), key=len, reverse=True))


def scrub(message: str, secrets: Iterable[str]) -> str:
    """`message` with every secret replaced, so no credential reaches an error or a log."""
    for secret in secrets:
        message = message.replace(secret, _REDACTED)
    return message


def exception_leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside a (possibly nested) exception group, or `[exc]`."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in exception_leaves(sub)]
    return [exc]


class HttpErrors:
    """The 4xx/5xx answers one session's HTTP client saw: how many, and the last status."""

    def __init__(self) -> None:
        self.count = 0
        self.last = 0

    def record(self, status: int) -> None:
        if status >= 400:
            self.count += 1
            self.last = status


@dataclass(frozen=True)
class ErrorSpeaker:
    """Builds error messages that name the server by label and host, never by URL or credential."""

    label: str
    host: str
    secrets: tuple[str, ...]

    def error(self, kind: McpErrorKind, what: str, detail: str, code: int = 0) -> McpError:
        detail = scrub(detail, self.secrets)[:_DETAIL_LIMIT]
        return McpError(kind, f"MCP server {self.label!r} ({self.host}): {what} failed: {detail}", code=code)
