"""The composition root: builds every collaborator from `Settings` and runs the gRPC server."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Literal

import asyncpg
import grpc
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer

from rejoinder.api.auth import Authenticator
from rejoinder.api.calls import SafeRegistrar
from rejoinder.api.conversations_servicer import ConversationsServicer
from rejoinder.api.files_servicer import FilesServicer
from rejoinder.api.grpc_servicer import ResponsesServicer
from rejoinder.api.health import Readiness
from rejoinder.api.models_servicer import ModelsServicer
from rejoinder.api.prompts_servicer import PromptsServicer
from rejoinder.api.rest.files import FileRoutes
from rejoinder.api.rest.prompts import PromptRoutes
from rejoinder.api.rest.servicer import OpenAIHttpServicer, RestOptions
from rejoinder.api.rest.vector_stores import VectorStoreRoutes
from rejoinder.api.vector_stores_servicer import VectorStoresServicer
from rejoinder.config import ConfigError, Settings
from rejoinder.core.background.runs import BackgroundRuns
from rejoinder.core.clock import Clock, SystemClock
from rejoinder.core.conversations import ConversationsCore
from rejoinder.core.files import FilesCore
from rejoinder.core.ids import IdGenerator, RandomIds
from rejoinder.core.prompts.templates import PromptsCore
from rejoinder.core.responses import ResponsesCore
from rejoinder.core.run.deps import Deps
from rejoinder.core.vector_stores.assemble import Identity, VectorStoresApp, open_vector_stores
from rejoinder.observe.access import AccessLog
from rejoinder.observe.metrics import Metrics
from rejoinder.observe.observer import Observer
from rejoinder.observe.tracing import Tracing
from rejoinder.providers.base import Provider
from rejoinder.providers.registry import ProviderRegistry
from rejoinder.ratelimit.base import RateLimiter
from rejoinder.ratelimit.factory import open_limiter
from rejoinder.responses.v1 import (
    conversations_service_pb2,
    files_service_pb2,
    models_service_pb2,
    openai_http_pb2,
    openai_http_pb2_grpc,
    prompts_service_pb2,
    responses_service_pb2,
    vector_stores_service_pb2,
)
from rejoinder.responses.v1 import conversations_service_pb2_grpc as conversations_grpc
from rejoinder.responses.v1 import files_service_pb2_grpc as files_grpc
from rejoinder.responses.v1 import models_service_pb2_grpc as models_grpc
from rejoinder.responses.v1 import prompts_service_pb2_grpc as prompts_grpc
from rejoinder.responses.v1 import responses_service_pb2_grpc as responses_grpc
from rejoinder.responses.v1 import vector_stores_service_pb2_grpc as vector_stores_grpc
from rejoinder.store.base import Store
from rejoinder.store.factory import describe, file_store_for, open_store, prompt_store_for
from rejoinder.store.files.observed import ObservedFileStore
from rejoinder.store.observed import ObservedStore
from rejoinder.store.prompts.observed import ObservedPromptStore
from rejoinder.store.vector_stores.db import vector_stores_of
from rejoinder.store.vector_stores.observed import ObservedVectorStoreStore
from rejoinder.vectors.postgres_schema import PgvectorMissing
from rejoinder.wire.openai_json import OpenAIJson
from rejoinder.wiring import build_registry, load_local, reasoning_sealer, tool_kinds

VERSION = version("rejoinder")
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_METADATA_BYTES = 256 * 1024
FINISH_S = 5.0  # after the drain: how long ended responses have to tell their readers
SERVICE_NAMES = (
    responses_service_pb2.DESCRIPTOR.services_by_name["ResponsesService"].full_name,
    conversations_service_pb2.DESCRIPTOR.services_by_name["ConversationsService"].full_name,
    files_service_pb2.DESCRIPTOR.services_by_name["FilesService"].full_name,
    vector_stores_service_pb2.DESCRIPTOR.services_by_name["VectorStoresService"].full_name,
    models_service_pb2.DESCRIPTOR.services_by_name["ModelsService"].full_name,
    prompts_service_pb2.DESCRIPTOR.services_by_name["PromptsService"].full_name,
    openai_http_pb2.DESCRIPTOR.services_by_name["OpenAIHttpService"].full_name,
)
SERVED = (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME)  # health and reflection know them


@dataclass
class GrpcApp:
    """A running gRPC server and what it owns."""

    server: grpc.aio.Server
    port: int
    store: Store
    registry: ProviderRegistry
    background: BackgroundRuns
    limiter: RateLimiter
    core: ResponsesCore
    health: Readiness  # grpc.health.v1: the store answers, the server is not draining
    observer: Observer
    tracing: Tracing | None = None
    vector_stores: VectorStoresApp | None = None  # its ingester, index and embedder

    async def drain(self, drain_s: float) -> int:
        """Stop serving, gently: health says NOT_SERVING (so Envoy routes elsewhere), new calls are
        refused, running responses get `drain_s` to finish and then end `failed` (in band, and stored
        so). Returns how many had to be ended."""
        await self.health.drain()
        stopped = asyncio.ensure_future(self.server.stop(drain_s + FINISH_S))  # refuses new calls now
        ended = await self.core.drain(drain_s, FINISH_S)
        await stopped
        return ended

    async def close(self) -> None:
        """Release everything (after `drain`): background runs, upstream pools, limiter, store."""
        await self.background.close()
        if self.vector_stores is not None:
            await self.vector_stores.close()  # before the store: ingestion gives its files back
        await self.registry.aclose()
        await self.limiter.close()  # before the store: it holds some of the store's connections
        await self.store.close()
        if self.tracing is not None:
            await asyncio.to_thread(self.tracing.shutdown)  # the last spans exported
        self.observer.flush()  # the last access lines

    async def stop(self, drain_s: float = 5.0) -> None:
        """`drain`, then `close`."""
        await self.drain(drain_s)
        await self.close()


def _new_server(settings: Settings, tracing: Tracing | None, reuse_port: bool) -> grpc.aio.Server:
    """`reuse_port`: its ports are shared with the other workers of `serve --workers N` (SO_REUSEPORT);
    else a port in use is an error (a second server would silently share it)."""
    return grpc.aio.server(
        interceptors=tracing.server_interceptors() if tracing is not None else None,
        options=[
            ("grpc.so_reuseport", int(reuse_port)),
            # a request as big as the REST body limit, and its framing
            ("grpc.max_receive_message_length", settings.request_limits.max_request_body_bytes + 65_536),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            # Envoy's limit on a request's headers (60 KiB, a 431) applies first: a long path reaches us
            # twice (`:path` and `x-envoy-original-path`), and gRPC's own 8/16 KiB would refuse it as a 429.
            ("grpc.max_metadata_size", MAX_METADATA_BYTES),
            ("grpc.absolute_max_metadata_size", MAX_METADATA_BYTES),
        ],
    )


@dataclass(frozen=True)
class Apis:
    """The cores of the APIs besides responses, each served typed and on the REST bridge."""

    conversations: ConversationsCore
    files: FilesCore
    vector_stores: VectorStoresApp
    prompts: PromptsCore


def _add_servicers(
    server: grpc.aio.Server,
    core: ResponsesCore,
    apis: Apis,
    settings: Settings,
    registry: ProviderRegistry,
    observer: Observer,
) -> Any:
    """Every servicer on `server`; returns the health servicer."""
    auth = Authenticator(settings.auth_tenants)
    registrar = SafeRegistrar(server, observer)  # every call observed; bytes that are not protobuf refused
    responses_grpc.add_ResponsesServiceServicer_to_server(
        ResponsesServicer(core, auth, settings.request_limits), registrar
    )
    conversations_grpc.add_ConversationsServiceServicer_to_server(
        ConversationsServicer(apis.conversations, auth), registrar
    )
    files_grpc.add_FilesServiceServicer_to_server(FilesServicer(apis.files, auth), registrar)
    vs = apis.vector_stores
    vector_stores_grpc.add_VectorStoresServiceServicer_to_server(
        VectorStoresServicer(vs.stores, vs.files, auth), registrar
    )
    models_grpc.add_ModelsServiceServicer_to_server(ModelsServicer(registry, auth), registrar)
    prompts_grpc.add_PromptsServiceServicer_to_server(PromptsServicer(apis.prompts, auth), registrar)
    codec = OpenAIJson(strict=settings.strict_json, max_string_chars=settings.request_limits.max_string_chars)
    files = FileRoutes(apis.files, codec, auth)
    vector_stores = VectorStoreRoutes(vs.stores, vs.files, codec, auth)
    prompts = PromptRoutes(apis.prompts, codec, auth)
    options = RestOptions(settings.sse_keepalive_s, settings.request_limits, files, vector_stores, prompts)
    http = OpenAIHttpServicer(core, apis.conversations, codec, registry, auth, options)
    openai_http_pb2_grpc.add_OpenAIHttpServiceServicer_to_server(http, registrar)
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, registrar)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(ReflectionServicer(SERVED), registrar)
    return health_servicer


@dataclass(frozen=True)
class Parts:
    """Collaborators `start_grpc` is given instead of building them from `Settings` (tests inject a store,
    clock, ids or span exporter; a worker of `serve --workers N` the local model it reaches)."""

    store: Store | None = None
    clock: Clock | None = None
    ids: IdGenerator | None = None
    tracing: Tracing | None = None  # else as `settings.tracing` says: by default nowhere, no spans made
    local: Provider | Literal["settings"] | None = "settings"  # what the local model's name routes to


async def start_grpc(
    settings: Settings,
    parts: Parts = Parts(),
    *,
    replica_id: str | None = None,
    shared_address: str | None = None,
) -> GrpcApp:
    """Build the core and serve it on `settings.grpc_host:grpc_port` (0 picks a free port).

    `replica_id`: this server's identity, kept across restarts (else a new one). `shared_address`: a worker
    of `serve --workers N` also serves on this "host:port", which every worker binds (SO_REUSEPORT).
    """
    store, clock, ids, tracing, local = parts.store, parts.clock, parts.ids, parts.tracing, parts.local
    if store is None:
        try:
            store = await open_store(settings.store, settings.data_dir)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        except (OSError, asyncpg.PostgresError) as exc:
            where = describe(settings.store, settings.data_dir)
            raise ConfigError(f"cannot open the store ({where}): {exc}") from exc
    if isinstance(local, str):  # "settings"
        local = await load_local(settings)
    clock = clock or SystemClock()
    ids = ids or RandomIds()
    replica = replica_id or ids.new("replica")
    tracing = tracing or Tracing.from_settings(settings.tracing, instance=replica, version=VERSION)
    metrics = Metrics() if settings.metrics else None
    observer = Observer(metrics, tracing.tracer if tracing is not None else None, AccessLog.configured())
    registry = build_registry(settings, local, observer, tracing)
    limiter = await open_limiter(
        settings.rate_limits, store, clock, replica=replica, lease_s=settings.background_lease_s
    )
    system = "postgresql" if settings.store else "sqlite"
    raw_store, store = store, ObservedStore(store, observer, system)
    files = ObservedFileStore(file_store_for(raw_store, settings.data_dir), observer, system)
    prompts = PromptsCore(ObservedPromptStore(prompt_store_for(raw_store), observer, system), ids, clock)
    vector_metadata = ObservedVectorStoreStore(vector_stores_of(raw_store), observer, system)
    try:
        vector_stores = await open_vector_stores(
            settings, raw_store, files, Identity(replica, ids, clock), observer, vector_metadata
        )
    except PgvectorMissing as exc:
        raise ConfigError(str(exc)) from exc
    deps = Deps(
        store=store,
        providers=registry,
        clock=clock,
        ids=ids,
        sealer=reasoning_sealer(settings),
        tools=tool_kinds(settings, observer, vector_stores),
        conversations=store,
        prompts=prompts,
        limits=settings.request_limits,
        limiter=limiter,
        observer=observer,
    )
    background = BackgroundRuns(store, clock, replica, lease_s=settings.background_lease_s, observer=observer)
    lost = await background.recover()
    if lost:
        print(
            f"rejoinder: ended {lost} background response(s) left unfinished by a stopped server", flush=True
        )
    background.start()
    conversations = ConversationsCore(store, deps.ids, deps.clock)
    core = ResponsesCore(deps, background)
    server = _new_server(settings, tracing, reuse_port=shared_address is not None)
    files_core = FilesCore(files, deps.ids, deps.clock, settings.request_limits.max_file_bytes)
    apis = Apis(conversations, files_core, vector_stores, prompts)
    health_servicer = _add_servicers(server, core, apis, settings, registry, observer)
    port = server.add_insecure_port(f"{settings.grpc_host}:{settings.grpc_port}")
    if shared_address is not None:
        server.add_insecure_port(shared_address)
    await registry.start()  # the upstreams' model lists: waits at most 2 s, then refreshes in the background
    readiness = Readiness(health_servicer, SERVED, store)
    await readiness.start()  # SERVING from the first call when the store answers
    await server.start()
    return GrpcApp(
        server=server,
        port=port,
        store=raw_store,
        registry=registry,
        background=background,
        limiter=limiter,
        core=core,
        health=readiness,
        observer=observer,
        tracing=tracing,
        vector_stores=vector_stores,
    )
