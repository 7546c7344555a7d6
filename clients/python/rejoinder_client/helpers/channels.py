"""Channels to a Rejoinder server: the API key on every call, TLS when asked.

The generated sync stubs take no per-call metadata, so the key rides on the channel: an interceptor for
grpcio (`sync_channel`), a send-request listener for grpclib (`async_channel`). Both send
`authorization: Bearer KEY`, the header the server (and Envoy in front of it) reads.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import grpc
from grpclib.client import Channel
from grpclib.config import Configuration
from grpclib.events import SendRequest, listen

from .errors import StatusDetailsCodec

ChannelOption = tuple[str, Any]


@dataclass(frozen=True)
class Tls:
    """TLS to the server. With nothing set: the server is verified against the default trusted roots
    (grpcio's own bundle; the system's for grpclib) and no client certificate is sent."""

    ca_file: str | Path | None = None
    """PEM roots to trust instead of the default ones (a private CA, a self-signed server)."""
    cert_file: str | Path | None = None
    """The client's certificate chain (PEM), for mutual TLS; with `key_file`."""
    key_file: str | Path | None = None
    """The client certificate's private key (PEM)."""
    server_name: str | None = None
    """The name the server's certificate must carry, when it is not the target's host."""


def sync_channel(
    target: str,
    *,
    api_key: str | None = None,
    tls: Tls | None = None,
    options: Sequence[ChannelOption] = (),
) -> grpc.Channel:
    """A grpcio channel for the sync stubs (`ResponsesServiceStub(channel)`, ...), to `host:port`.

    `api_key` goes with every call as `authorization: Bearer KEY`. `tls` makes it a TLS channel
    (plaintext otherwise). `options` are grpcio channel options. Close it (or use `with`) when done.
    """
    if tls is None:
        channel = grpc.insecure_channel(target, options=options)
    else:
        named = [("grpc.ssl_target_name_override", tls.server_name)] if tls.server_name else []
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_read(tls.ca_file),
            private_key=_read(tls.key_file),
            certificate_chain=_read(tls.cert_file),
        )
        channel = grpc.secure_channel(target, credentials, options=[*options, *named])
    if api_key is None:
        return channel
    return grpc.intercept_channel(channel, _AddMetadata((("authorization", f"Bearer {api_key}"),)))


def async_channel(target: str, *, api_key: str | None = None, tls: Tls | None = None) -> Channel:
    """A grpclib channel for the async stubs (`ResponsesServiceAsyncStub(channel)`, ...), to
    `host:port`; make it inside the event loop that uses it.

    `api_key` goes with every call as `authorization: Bearer KEY`; `tls` makes it a TLS channel.
    Errors it raises (`grpclib.exceptions.GRPCError`) carry the typed details of the server's
    `google.rpc.Status` (see `status_of`). Close it when done: `channel.close()`, or
    `with contextlib.closing(async_channel(...)) as channel:`.
    """
    host, port = _host_port(target)
    channel = Channel(
        host,
        port,
        ssl=None if tls is None else _ssl_context(tls),
        status_details_codec=StatusDetailsCodec(),
        config=Configuration(ssl_target_name_override=tls.server_name if tls else None),
    )
    if api_key is not None:
        bearer = f"Bearer {api_key}"

        async def add_key(event: SendRequest) -> None:
            event.metadata["authorization"] = bearer

        listen(channel, SendRequest, add_key)
    return channel


def _host_port(target: str) -> tuple[str, int]:
    host, colon, port = target.rpartition(":")
    if not colon or not host or not port.isdigit():
        raise ValueError(f"target {target!r}: expected host:port ([v6 address]:port)")
    return host.strip("[]"), int(port)


def _ssl_context(tls: Tls) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=tls.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2"])
    if tls.cert_file is not None:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    return context


def _read(path: str | Path | None) -> bytes | None:
    return None if path is None else Path(path).read_bytes()


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Sequence[tuple[str, str | bytes]] | None
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


class _ClientCallDetails(_CallDetails, grpc.ClientCallDetails):  # type: ignore[misc]
    """grpcio wants an object of its own type, with the fields of a call's details."""


class _AddMetadata(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[type-arg]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.StreamStreamClientInterceptor,  # type: ignore[type-arg]
):
    """Adds the same metadata to every call, of each of the four kinds."""

    def __init__(self, metadata: Sequence[tuple[str, str]]) -> None:
        self._metadata = tuple(metadata)

    def _with_metadata(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        return _ClientCallDetails(
            details.method,
            details.timeout,
            [*(details.metadata or ()), *self._metadata],
            details.credentials,
            details.wait_for_ready,
            details.compression,
        )

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return continuation(self._with_metadata(details), request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return continuation(self._with_metadata(details), request)

    def intercept_stream_unary(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, requests: Iterator[Any]
    ) -> Any:
        return continuation(self._with_metadata(details), requests)

    def intercept_stream_stream(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, requests: Iterator[Any]
    ) -> Any:
        return continuation(self._with_metadata(details), requests)
