"""The Vector stores API end to end: the `openai` SDK through Envoy and typed gRPC, per tenant, on SQLite
and on PostgreSQL, with files ingested in the background by the embedded embedding model."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import openai
import pytest
from google.rpc import error_details_pb2, status_pb2
from openai import OpenAI
from openai.types import VectorStore

from rejoinder_client.rejoinder.responses.v1 import (
    CreateVectorStoreRequest,
    GetVectorStoreFileRequest,
    GetVectorStoreRequest,
    ListVectorStoreFilesRequest,
    SearchQuery,
    SearchVectorStoreRequest,
    VectorStoresServiceStub,
)
from tests.e2e.exactness import CapturingTransport, check
from tests.e2e.prometheus import Moved, scrape
from tests.e2e.service_process import ServiceProcess
from tests.e2e.tenant_service import tenant_service
from tests.scripted_upstream import ScriptedUpstream

ACME = "sk-acme-vectors-0001"
GLOBEX = "sk-globex-vectors-0002"
DOCS = {
    "rockets.md": "# Rockets\n\nThe launcher burns liquid oxygen and kerosene in its first stage. Its "
    "engines lift the payload to low Earth orbit, where the second stage separates.",
    "bread.txt": "Sourdough bread rises with wild yeast and lactic acid bacteria. Bakers feed the starter "
    "with flour and water every day and bake the loaves in a hot oven.",
    "cats.html": "<html><body><h1>Cats</h1><p>The tabby cat purrs, hunts mice and sleeps sixteen hours a "
    "day on the warm windowsill.</p><script>var hidden = 'zebra';</script></body></html>",
}
GARBAGE = bytes(range(256)) * 64


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def vs_service(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    e2e_upstream: ScriptedUpstream,
    postgres_admin_dsn: str,
) -> Iterator[ServiceProcess]:
    """A keyed service (two tenants) on each store; embeddings by the embedded model."""
    data = tmp_path_factory.mktemp(f"vector-stores-{request.param}")
    keys = {"acme": ACME, "globex": GLOBEX}
    yield from tenant_service(request.param, data, e2e_upstream, postgres_admin_dsn, keys)


@pytest.fixture
def transport() -> Iterator[CapturingTransport]:
    capturing = CapturingTransport()
    yield capturing
    for capture in capturing.captures:
        check(capture)


def _sdk(service: ServiceProcess, key: str, transport: CapturingTransport) -> OpenAI:
    http = httpx.Client(transport=transport, timeout=60)
    return OpenAI(base_url=service.base_url, api_key=key, http_client=http, max_retries=0)


@pytest.fixture
def acme(vs_service: ServiceProcess, transport: CapturingTransport) -> OpenAI:
    return _sdk(vs_service, ACME, transport)


@pytest.fixture
def globex(vs_service: ServiceProcess, transport: CapturingTransport) -> OpenAI:
    return _sdk(vs_service, GLOBEX, transport)


def _upload(client: OpenAI, name: str, data: bytes | None = None) -> str:
    content = DOCS[name].encode() if data is None else data
    return client.files.create(file=(name, content), purpose="assistants").id


def _settled(client: OpenAI, vector_store_id: str, timeout_s: float = 60) -> VectorStore:
    """The store once no file of it is in progress."""
    deadline = time.monotonic() + timeout_s
    while True:
        store = client.vector_stores.retrieve(vector_store_id)
        if store.file_counts.in_progress == 0 or time.monotonic() > deadline:
            return store
        time.sleep(0.2)


def test_a_store_created_with_files_ingests_them_in_the_background(acme: OpenAI) -> None:
    ids = [_upload(acme, name) for name in DOCS]
    store = acme.vector_stores.create(
        name="docs",
        file_ids=ids,
        metadata={"team": "a"},
        expires_after={"anchor": "last_active_at", "days": 7},
    )
    assert store.id.startswith("vs_") and store.object == "vector_store" and store.name == "docs"
    assert store.file_counts.total == 3 and store.metadata == {"team": "a"}
    assert store.expires_after is not None and store.expires_after.days == 7
    assert store.expires_at == store.last_active_at + 7 * 86400  # type: ignore[operator]
    done = _settled(acme, store.id)
    assert (done.status, done.file_counts.completed, done.file_counts.in_progress) == ("completed", 3, 0)
    assert done.usage_bytes > 0
    files = acme.vector_stores.files.list(store.id)
    assert sorted(f.id for f in files.data) == sorted(ids)
    one = acme.vector_stores.files.retrieve(ids[2], vector_store_id=store.id)
    assert one.status == "completed" and one.usage_bytes > 0 and one.last_error is None
    assert one.chunking_strategy is not None and one.chunking_strategy.type == "static"
    content = acme.vector_stores.files.content(ids[2], vector_store_id=store.id)
    texts = [part.text for part in content]
    assert any("tabby cat purrs" in t for t in texts) and not any("zebra" in t for t in texts)


def test_search_finds_the_right_file_and_honours_filters_and_ranking(acme: OpenAI) -> None:
    store = acme.vector_stores.create(name="search")
    for name, lang in (("rockets.md", "en"), ("bread.txt", "fr"), ("cats.html", "en")):
        with_attrs = acme.vector_stores.files.create_and_poll(
            file_id=_upload(acme, name), vector_store_id=store.id, attributes={"lang": lang, "year": 2024}
        )
        assert with_attrs.status == "completed" and with_attrs.attributes == {"lang": lang, "year": 2024}
    page = acme.vector_stores.search(store.id, query="What propellant does the launcher burn?")
    results = list(page)
    assert results[0].filename == "rockets.md" and 0 < results[0].score <= 1
    assert results[0].attributes == {"lang": "en", "year": 2024}
    assert "liquid oxygen" in results[0].content[0].text and results[0].content[0].type == "text"
    only_fr = acme.vector_stores.search(
        store.id, query="launcher oxygen", filters={"type": "eq", "key": "lang", "value": "fr"}
    )
    assert {r.filename for r in only_fr} == {"bread.txt"}
    compound = acme.vector_stores.search(
        store.id,
        query=["cat", "oven"],
        filters={
            "type": "and",
            "filters": [
                {"type": "gte", "key": "year", "value": 2024},
                {"type": "ne", "key": "lang", "value": "en"},
            ],
        },
    )
    assert {r.filename for r in compound} == {"bread.txt"}
    one = acme.vector_stores.search(store.id, query="cat", max_num_results=1)
    assert len(list(one)) == 1
    strict = acme.vector_stores.search(store.id, query="cat", ranking_options={"score_threshold": 1.0})
    assert all(r.score >= 1.0 for r in strict)
    vector_only = acme.vector_stores.search(
        store.id, query="sourdough starter", ranking_options={"ranker": "none"}
    )
    assert next(iter(vector_only)).filename == "bread.txt"


def test_a_file_that_cannot_be_read_ends_failed_with_its_error(acme: OpenAI) -> None:
    store = acme.vector_stores.create(name="bad")
    failed = acme.vector_stores.files.create_and_poll(
        file_id=_upload(acme, "blob.bin", GARBAGE), vector_store_id=store.id
    )
    assert failed.status == "failed" and failed.last_error is not None
    assert failed.last_error.code == "unsupported_file" and failed.last_error.message
    counts = acme.vector_stores.retrieve(store.id).file_counts
    assert (counts.failed, counts.completed, counts.total) == (1, 0, 1)
    listed = acme.vector_stores.files.list(store.id, filter="failed")
    assert [f.id for f in listed.data] == [failed.id]
    assert acme.vector_stores.files.list(store.id, filter="completed").data == []


def test_upload_and_poll_and_attribute_updates_and_deletes(acme: OpenAI) -> None:
    store = acme.vector_stores.create(name="life")
    added = acme.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("notes.md", b"Zeppelins float on hydrogen or helium gas.")
    )
    assert added.status == "completed"
    updated = acme.vector_stores.files.update(added.id, vector_store_id=store.id, attributes={"kind": "air"})
    assert updated.attributes == {"kind": "air"}
    hits = acme.vector_stores.search(
        store.id, query="zeppelin", filters={"type": "eq", "key": "kind", "value": "air"}
    )
    assert [h.file_id for h in hits] == [added.id]
    renamed = acme.vector_stores.update(store.id, name="renamed", metadata={"v": "2"}, expires_after=None)
    assert renamed.name == "renamed" and renamed.metadata == {"v": "2"}
    gone = acme.vector_stores.files.delete(added.id, vector_store_id=store.id)
    assert (gone.id, gone.object, gone.deleted) == (added.id, "vector_store.file.deleted", True)
    assert list(acme.vector_stores.search(store.id, query="zeppelin")) == []
    with pytest.raises(openai.NotFoundError):
        acme.vector_stores.files.retrieve(added.id, vector_store_id=store.id)
    acme.files.retrieve(added.id)  # the uploaded file stays
    deleted = acme.vector_stores.delete(store.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (store.id, "vector_store.deleted", True)
    with pytest.raises(openai.NotFoundError):
        acme.vector_stores.retrieve(store.id)


def test_file_batches(acme: OpenAI) -> None:
    store = acme.vector_stores.create(name="batches")
    ids = [_upload(acme, name) for name in DOCS]
    batch = acme.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=ids[:2], attributes={"set": "one"}
    )
    assert batch.id.startswith("vsfb_") and batch.object == "vector_store.files_batch"
    assert (batch.status, batch.file_counts.completed, batch.file_counts.total) == ("completed", 2, 2)
    in_batch = acme.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    assert sorted(f.id for f in in_batch.data) == sorted(ids[:2])
    assert all(f.attributes == {"set": "one"} for f in in_batch.data)
    own = acme.vector_stores.file_batches.create(
        vector_store_id=store.id,
        files=[
            {"file_id": ids[2], "attributes": {"set": "two"}},
            {"file_id": _upload(acme, "junk.bin", GARBAGE)},
        ],
    )
    assert acme.vector_stores.file_batches.retrieve(own.id, vector_store_id=store.id).file_counts.total == 2
    _settled(acme, store.id)
    done = acme.vector_stores.file_batches.retrieve(own.id, vector_store_id=store.id)
    assert (done.file_counts.completed, done.file_counts.failed, done.status) == (1, 1, "completed")
    failed = acme.vector_stores.file_batches.list_files(own.id, vector_store_id=store.id, filter="failed")
    assert len(failed.data) == 1 and failed.data[0].last_error is not None


def test_cancelling_a_batch_stops_what_is_not_done(acme: OpenAI) -> None:
    store = acme.vector_stores.create(name="cancel")
    ids = [
        _upload(acme, f"doc{n}.txt", f"Document number {n} about bread {'and ovens ' * 200}".encode())
        for n in range(12)
    ]
    batch = acme.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=ids)
    cancelled = acme.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    assert cancelled.status in ("cancelled", "completed")
    if cancelled.status == "cancelled":
        assert cancelled.file_counts.cancelled > 0 and cancelled.file_counts.in_progress == 0
        listed = acme.vector_stores.file_batches.list_files(
            batch.id, vector_store_id=store.id, filter="cancelled", limit=100
        )
        assert len(listed.data) == cancelled.file_counts.cancelled
    settled = _settled(acme, store.id)
    assert settled.file_counts.in_progress == 0
    assert settled.file_counts.total == 12


def test_stores_page_in_both_orders(acme: OpenAI) -> None:
    made = [acme.vector_stores.create(name=f"page-{n}").id for n in range(3)]
    newest = acme.vector_stores.list(limit=2)
    assert [s.id for s in newest.data] == made[::-1][:2] and newest.has_more
    oldest = acme.vector_stores.list(order="asc", after=made[0], limit=5)
    assert [s.id for s in oldest.data][:2] == made[1:]


def test_bad_requests_are_400s_naming_the_parameter(acme: OpenAI) -> None:
    store = acme.vector_stores.create(name="errors")
    cases = [
        (
            lambda: acme.vector_stores.create(
                chunking_strategy={
                    "type": "static",
                    "static": {"max_chunk_size_tokens": 50, "chunk_overlap_tokens": 0},
                }
            ),
            "chunking_strategy.static.max_chunk_size_tokens",
        ),
        (
            lambda: acme.vector_stores.create(expires_after={"anchor": "last_active_at", "days": 400}),
            "expires_after.days",
        ),
        (lambda: acme.vector_stores.create(metadata={f"k{n}": "v" for n in range(17)}), "metadata"),
        (lambda: acme.vector_stores.search(store.id, query="x", rewrite_query=True), "rewrite_query"),
        (lambda: acme.vector_stores.search(store.id, query="x", max_num_results=51), "max_num_results"),
        (
            lambda: acme.vector_stores.search(
                store.id, query="x", filters={"type": "eq", "key": "k", "value": {"a": 1}}
            ),
            "filters.value",
        ),  # type: ignore[typeddict-item]
        (
            lambda: acme.vector_stores.search(store.id, query="x", ranking_options={"ranker": "best"}),
            "ranking_options.ranker",
        ),  # type: ignore[typeddict-item]
        (lambda: acme.vector_stores.files.list(store.id, filter="done"), "filter"),  # type: ignore[arg-type]
        (lambda: acme.vector_stores.list(limit=0), "limit"),
        (
            lambda: acme.vector_stores.files.create(
                vector_store_id=store.id, file_id=_upload(acme, "bread.txt"), attributes={"k": [1]}
            ),
            "attributes.k",
        ),  # type: ignore[dict-item]
    ]
    for call, param in cases:
        with pytest.raises(openai.BadRequestError) as caught:
            call()
        assert caught.value.param == param, (param, caught.value.message)


def test_unknown_stores_and_files_are_404s(acme: OpenAI) -> None:
    store = acme.vector_stores.create(name="missing")
    for call in (
        lambda: acme.vector_stores.retrieve("vs_missing"),
        lambda: acme.vector_stores.search("vs_missing", query="x"),
        lambda: acme.vector_stores.files.create(vector_store_id=store.id, file_id="file-missing"),
        lambda: acme.vector_stores.files.retrieve("file-missing", vector_store_id=store.id),
        lambda: acme.vector_stores.file_batches.retrieve("vsfb_missing", vector_store_id=store.id),
        lambda: acme.vector_stores.create(file_ids=["file-missing"]),
    ):
        with pytest.raises(openai.NotFoundError):
            call()


def test_tenants_never_see_each_others_stores(acme: OpenAI, globex: OpenAI) -> None:
    file_id = _upload(acme, "rockets.md")
    store = acme.vector_stores.create(name="private", file_ids=[file_id])
    with pytest.raises(openai.NotFoundError):
        globex.vector_stores.retrieve(store.id)
    with pytest.raises(openai.NotFoundError):
        globex.vector_stores.search(store.id, query="rockets")
    with pytest.raises(openai.NotFoundError):
        globex.vector_stores.files.list(store.id)
    assert store.id not in [s.id for s in globex.vector_stores.list(limit=100).data]
    theirs = globex.vector_stores.create(name="theirs")
    with pytest.raises(openai.NotFoundError):  # acme's file is not globex's to add
        globex.vector_stores.files.create(vector_store_id=theirs.id, file_id=file_id)


class _Key(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        metadata = (*tuple(details.metadata or ()), ("authorization", f"Bearer {ACME}"))
        return continuation(details._replace(metadata=metadata), request)


@pytest.fixture(params=["direct", "via-envoy"])
def stub(request: pytest.FixtureRequest, vs_service: ServiceProcess) -> Iterator[VectorStoresServiceStub]:
    target = vs_service.grpc_target if request.param == "direct" else vs_service.envoy_target
    with grpc.insecure_channel(target) as channel:
        yield VectorStoresServiceStub(grpc.intercept_channel(channel, _Key()))


def _details(error: grpc.RpcError) -> tuple[grpc.StatusCode, dict[str, str]]:
    trailers = dict(error.trailing_metadata() or ())  # type: ignore[attr-defined]
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    return error.code(), dict(info.metadata)  # type: ignore[attr-defined]


def test_typed_grpc(stub: VectorStoresServiceStub, acme: OpenAI) -> None:
    file_id = _upload(acme, "bread.txt")
    made = stub.create_vector_store(CreateVectorStoreRequest(name="typed", file_ids=[file_id])).vector_store
    assert made.id.startswith("vs_") and made.file_counts.total == 1
    deadline = time.monotonic() + 60
    while (
        stub.get_vector_store(GetVectorStoreRequest(vector_store_id=made.id)).vector_store.status
        != "completed"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    file = stub.get_vector_store_file(
        GetVectorStoreFileRequest(vector_store_id=made.id, file_id=file_id)
    ).file
    assert file.status == "completed" and file.chunking_strategy.static.static.max_chunk_size_tokens == 800
    listed = stub.list_vector_store_files(
        ListVectorStoreFilesRequest(vector_store_id=made.id, filter="completed")
    )
    assert [f.id for f in listed.data] == [file_id]
    found = stub.search_vector_store(
        SearchVectorStoreRequest(vector_store_id=made.id, query=SearchQuery(text="sourdough starter"))
    )
    assert found.object == "vector_store.search_results.page" and found.search_query == ["sourdough starter"]
    assert found.data[0].file_id == file_id and "wild yeast" in found.data[0].content[0].text
    with pytest.raises(grpc.RpcError) as missing:
        stub.get_vector_store(GetVectorStoreRequest(vector_store_id="vs_missing"))
    code, meta = _details(missing.value)
    assert code == grpc.StatusCode.NOT_FOUND and meta["param"] == "vector_store_id"
    with pytest.raises(grpc.RpcError) as bad:
        stub.search_vector_store(
            SearchVectorStoreRequest(vector_store_id=made.id, query=SearchQuery(text="x"), rewrite_query=True)
        )
    code, meta = _details(bad.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and meta["param"] == "rewrite_query"


def test_files_a_killed_worker_was_ingesting_are_ingested_again_when_it_restarts(
    tmp_path: Path, e2e_upstream: ScriptedUpstream, transport: CapturingTransport
) -> None:
    """Two workers on one SQLite file, embeddings from the upstream (which holds the first four requests
    for a while): each worker claims two files; worker 1 is killed while it embeds them, comes back under
    its identity and ingests them again at once, long before their claims' lease would lapse."""
    lease_s = 60
    config = tmp_path / "rejoinder.toml"
    config.write_text(
        f'[providers.scripted]\nbase_url = "{e2e_upstream.base_url}"\n\n'
        '[embeddings]\nprovider = "scripted"\nmodel = "emb"\ntimeout_s = 30\n'
    )
    args = ["--config", str(config), "--background-lease-s", str(lease_s)]
    service = ServiceProcess(data_dir=tmp_path / "data", extra_args=args, workers=2).start()
    try:
        e2e_upstream.reset()
        client = _sdk(service, "x", transport)
        ids = [
            _upload(client, f"doc{n}.txt", f"Document {n} about herons and marshes.".encode())
            for n in range(4)
        ]
        e2e_upstream.embedding_faults.extend([6.0] * 4)  # every first embedding request waits 6 s
        store = client.vector_stores.create(name="killed", file_ids=ids)
        deadline = time.monotonic() + 10
        while len(e2e_upstream.embedding_requests) < 4:  # both workers are embedding their two files
            assert time.monotonic() < deadline, e2e_upstream.embedding_requests
            time.sleep(0.05)
        pids, _ = service.workers_announced()
        os.kill(pids[1], signal.SIGKILL)
        killed = time.monotonic()
        patient = client.with_options(max_retries=5)  # a call Envoy sent to the killed worker is a 503
        done = _settled(patient, store.id, timeout_s=lease_s / 2)
        assert (done.file_counts.completed, done.file_counts.in_progress) == (4, 0), done.file_counts
        assert time.monotonic() - killed < lease_s / 2
        assert len(e2e_upstream.embedding_requests) >= 6  # worker 1's two files were embedded again
        assert "ingesting when it stopped start over" in service.log()
    finally:
        assert service.stop() == 0, service.log()
        e2e_upstream.reset()


def test_ingestion_and_search_are_measured(vs_service: ServiceProcess, acme: OpenAI) -> None:
    before = scrape(vs_service.metrics_url)
    store = acme.vector_stores.create(name="measured", file_ids=[_upload(acme, "rockets.md")])
    acme.vector_stores.files.create_and_poll(
        file_id=_upload(acme, "bad.bin", GARBAGE), vector_store_id=store.id
    )
    _settled(acme, store.id)
    acme.vector_stores.search(store.id, query="oxygen")
    moved = Moved(before, scrape(vs_service.metrics_url))
    assert moved("rejoinder_vector_store_files_ingested_total", outcome="completed") == 1
    assert moved("rejoinder_vector_store_files_ingested_total", outcome="unsupported_file") == 1
    assert moved("rejoinder_vector_store_chunks_ingested_total") >= 1
    assert moved("rejoinder_vector_store_ingestion_duration_seconds_count", outcome="completed") == 1
    assert moved("rejoinder_vector_store_search_duration_seconds_count") == 1
