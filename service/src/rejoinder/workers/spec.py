"""What the supervisor tells a worker, and what the worker answers once it serves (sent through a pipe)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LocalModel:
    """Where the local model runs: in the worker that `serves` it, reached by the others at `url`."""

    token: str  # the bearer token of the owner's loopback chat completions endpoint
    serves: bool = False  # this worker loads the model and serves it to the others
    port: int = 0  # owner: the port to serve it on (0: a free one, the first time)
    url: str | None = None  # the others: the owner's endpoint (".../v1"); None: no local model


@dataclass(frozen=True)
class WorkerSpec:
    """One worker: its index, its identity in the store, and its ports."""

    index: int
    replica_id: str  # background runs are claimed under it; kept across the worker's restarts
    port: int  # its own gRPC port, that Envoy balances to (0: a free one, the first time)
    shared_port: int  # the public gRPC port, bound by every worker (SO_REUSEPORT)
    local: LocalModel


@dataclass(frozen=True)
class Ready:
    """A worker serves: on `port`, with the local model on `local_port` when it serves it."""

    pid: int
    port: int
    models: tuple[str, ...]
    limits: str  # how rate limits are kept, for the announcement
    local_port: int | None = None
