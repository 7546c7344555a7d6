"""The Files API end to end: the `openai` SDK through Envoy (multipart uploads streamed to the service)
and typed gRPC, per tenant, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import openai
import pytest
from openai import OpenAI

from rejoinder_client.rejoinder.responses.v1 import (
    CreateFileMetadata,
    CreateFileRequest,
    DeleteFileRequest,
    FileExpiresAfter,
    FilesServiceStub,
    GetFileContentRequest,
    GetFileRequest,
    ListFilesRequest,
)
from tests.e2e.exactness import CapturingTransport, check
from tests.e2e.service_process import ServiceProcess
from tests.e2e.tenant_service import tenant_service
from tests.scripted_upstream import ScriptedUpstream

ACME = "sk-acme-files-0001"
GLOBEX = "sk-globex-files-0002"
MIB = 1024 * 1024
MAX_FILE = 3 * MIB
BODY_LIMIT = MIB  # Envoy's and the service's limit on one REST body: a streamed upload may exceed it


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def files_service(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    e2e_upstream: ScriptedUpstream,
    postgres_admin_dsn: str,
) -> Iterator[ServiceProcess]:
    """A keyed service (two tenants) with small body and file limits, on each store."""
    data = tmp_path_factory.mktemp(f"files-{request.param}")
    keys = {"acme": ACME, "globex": GLOBEX}
    yield from tenant_service(
        request.param,
        data,
        e2e_upstream,
        postgres_admin_dsn,
        keys,
        f"\n[limits]\nmax_request_body_bytes = {BODY_LIMIT}\nmax_file_bytes = {MAX_FILE}\n",
    )


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
def acme(files_service: ServiceProcess, transport: CapturingTransport) -> OpenAI:
    return _sdk(files_service, ACME, transport)


@pytest.fixture
def globex(files_service: ServiceProcess, transport: CapturingTransport) -> OpenAI:
    return _sdk(files_service, GLOBEX, transport)


def _blob(size: int, seed: int = 0) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}-{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def test_upload_retrieve_content_and_delete(acme: OpenAI) -> None:
    data = b"# Notes\n\nRejoinder keeps files.\n"
    made = acme.files.create(file=("notes.md", data), purpose="assistants")
    assert made.id.startswith("file-") and made.object == "file"
    assert (made.filename, made.bytes, made.purpose, made.status) == (
        "notes.md",
        len(data),
        "assistants",
        "processed",
    )
    assert made.created_at > 0 and made.expires_at is None
    got = acme.files.retrieve(made.id)
    assert got == made
    assert acme.files.content(made.id).content == data
    deleted = acme.files.delete(made.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (made.id, "file", True)
    with pytest.raises(openai.NotFoundError) as missing:
        acme.files.retrieve(made.id)
    assert missing.value.status_code == 404
    assert f"No such File object: {made.id}" in missing.value.message
    with pytest.raises(openai.NotFoundError):
        acme.files.content(made.id)
    with pytest.raises(openai.NotFoundError):
        acme.files.delete(made.id)


def test_a_file_larger_than_the_body_limit_streams_through(acme: OpenAI) -> None:
    data = _blob(2 * MIB + 12345, seed=1)  # over Envoy's body limit: it arrives in chunks, never whole
    made = acme.files.create(file=("big.bin", io.BytesIO(data)), purpose="user_data")
    assert made.bytes == len(data)
    assert acme.files.content(made.id).content == data
    acme.files.delete(made.id)


def test_a_file_over_the_size_limit_is_refused_as_openai_does(acme: OpenAI) -> None:
    before = {f.id for f in acme.files.list()}
    with pytest.raises(openai.BadRequestError) as refused:
        acme.files.create(file=("huge.bin", _blob(MAX_FILE + 1)), purpose="assistants")
    assert refused.value.status_code == 400
    assert refused.value.body["message"].startswith("File is too large.")  # type: ignore[index]
    assert refused.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    assert {f.id for f in acme.files.list()} == before  # nothing kept


def test_a_bad_purpose_is_a_400_naming_it(acme: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        acme.files.create(file=("a.txt", b"x"), purpose="nonsense")  # type: ignore[arg-type]
    assert refused.value.status_code == 400
    assert refused.value.param == "purpose" and refused.value.code == "invalid_value"
    assert "'nonsense'" in refused.value.message


def test_a_body_without_a_file_or_not_multipart_is_a_400(files_service: ServiceProcess) -> None:
    headers = {"authorization": f"Bearer {ACME}"}
    with httpx.Client(base_url=files_service.base_url, headers=headers, timeout=30) as http:
        no_file = http.post("/files", data={"purpose": "assistants"}, files={"other": ("x", b"")})
        assert no_file.status_code == 400, no_file.text
        assert no_file.json()["error"]["param"] == "file"
        as_json = http.post("/files", json={"purpose": "assistants"})
        assert as_json.status_code == 400
        assert "multipart/form-data" in as_json.json()["error"]["message"]


def test_fields_after_the_file_count_too(files_service: ServiceProcess) -> None:
    """openai-node sends `file` before `purpose`: the purpose and expiry after the file still apply."""
    boundary = "b0undary"
    parts = [
        ("file", 'filename="late.txt"', b"late fields"),
        ("purpose", "", b"batch"),
        ("expires_after[anchor]", "", b"created_at"),
        ("expires_after[seconds]", "", b"7200"),
    ]
    body = b""
    for name, extra, value in parts:
        disposition = f'form-data; name="{name}"' + (f"; {extra}" if extra else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    headers = {"authorization": f"Bearer {ACME}", "content-type": f"multipart/form-data; boundary={boundary}"}
    with httpx.Client(base_url=files_service.base_url, headers=headers, timeout=30) as http:
        made = http.post("/files", content=body)
        assert made.status_code == 200, made.text
        got = made.json()
        assert (got["filename"], got["purpose"], got["bytes"]) == ("late.txt", "batch", 11)
        assert got["expires_at"] == got["created_at"] + 7200
        assert http.delete(f"/files/{got['id']}").status_code == 200


def test_expires_after(acme: OpenAI) -> None:
    made = acme.files.create(
        file=("short.txt", b"soon gone"),
        purpose="batch",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    assert made.expires_at == made.created_at + 3600
    with pytest.raises(openai.BadRequestError) as refused:
        acme.files.create(
            file=("short.txt", b"x"), purpose="batch", expires_after={"anchor": "created_at", "seconds": 60}
        )
    assert refused.value.param == "expires_after.seconds"
    acme.files.delete(made.id)


def test_list_pages_and_filters_by_purpose(acme: OpenAI) -> None:
    made = [
        acme.files.create(
            file=(f"f{n}.txt", f"file {n}".encode()), purpose="batch" if n % 2 else "assistants"
        )
        for n in range(5)
    ]
    ids = [f.id for f in made]
    newest_first = [f.id for f in acme.files.list() if f.id in ids]
    assert sorted(newest_first) == sorted(ids)
    page = acme.files.list(limit=2, order="asc")
    first_two = [f.id for f in page.data]
    assert len(first_two) == 2 and page.has_more
    walked = [f.id for f in acme.files.list(limit=2, order="asc")]  # the SDK follows `after` across pages
    assert len(walked) == len(set(walked))  # files of the same second page by ID: none twice, none lost
    assert sorted(i for i in walked if i in ids) == sorted(ids)
    batch = [f.id for f in acme.files.list(purpose="batch")]
    assert set(batch) >= {ids[1], ids[3]} and not set(batch) & {ids[0], ids[2], ids[4]}
    with pytest.raises(openai.BadRequestError) as refused:
        acme.files.list(limit=0)
    assert refused.value.param == "limit"
    for file_id in ids:
        acme.files.delete(file_id)


def test_tenants_never_see_each_others_files(acme: OpenAI, globex: OpenAI) -> None:
    mine = acme.files.create(file=("secret.txt", b"acme only"), purpose="assistants")
    with pytest.raises(openai.NotFoundError):
        globex.files.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        globex.files.content(mine.id)
    with pytest.raises(openai.NotFoundError):
        globex.files.delete(mine.id)
    assert mine.id not in {f.id for f in globex.files.list()}
    same_bytes = globex.files.create(file=("copy.txt", b"acme only"), purpose="assistants")
    globex.files.delete(same_bytes.id)  # the bytes are shared on SQLite: acme's copy must survive
    assert acme.files.content(mine.id).content == b"acme only"
    acme.files.delete(mine.id)


def test_unknown_key_is_a_401(files_service: ServiceProcess, transport: CapturingTransport) -> None:
    with pytest.raises(openai.AuthenticationError):
        _sdk(files_service, "sk-nobody", transport).files.list()


class _Key(
    grpc.UnaryUnaryClientInterceptor, grpc.StreamUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor
):  # type: ignore[misc]
    def __init__(self, key: str) -> None:
        self._metadata = (("authorization", f"Bearer {key}"),)

    def _with_key(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        return details._replace(metadata=tuple(details.metadata or ()) + self._metadata)  # type: ignore[attr-defined,no-any-return]

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._with_key(details), request)

    def intercept_stream_unary(self, continuation, details, requests):  # type: ignore[no-untyped-def]
        return continuation(self._with_key(details), requests)

    def intercept_unary_stream(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._with_key(details), request)


@pytest.fixture(params=["direct", "via-envoy"])
def stub(request: pytest.FixtureRequest, files_service: ServiceProcess) -> Iterator[FilesServiceStub]:
    target = files_service.grpc_target if request.param == "direct" else files_service.envoy_target
    with grpc.insecure_channel(target) as channel:
        yield FilesServiceStub(grpc.intercept_channel(channel, _Key(ACME)))


def _upload(meta: CreateFileMetadata, data: bytes, chunk: int = 64 * 1024) -> Iterator[CreateFileRequest]:
    yield CreateFileRequest(metadata=meta)
    for start in range(0, len(data), chunk):
        yield CreateFileRequest(data=data[start : start + chunk])


def test_typed_grpc_upload_list_content_delete(stub: FilesServiceStub) -> None:
    data = _blob(MIB + 7, seed=2)
    meta = CreateFileMetadata(
        filename="typed.bin",
        purpose="user_data",
        expires_after=FileExpiresAfter(anchor="created_at", seconds=86400),
        bytes=len(data),
    )
    made = stub.create_file(_upload(meta, data)).file
    assert made.id.startswith("file-") and made.bytes == len(data) and made.filename == "typed.bin"
    assert made.expires_at == made.created_at + 86400
    assert stub.get_file(GetFileRequest(file_id=made.id)).file == made
    assert b"".join(c.data for c in stub.get_file_content(GetFileContentRequest(file_id=made.id))) == data
    listed = stub.list_files(ListFilesRequest(purpose="user_data", order="asc"))
    assert made.id in [f.id for f in listed.data]
    gone = stub.delete_file(DeleteFileRequest(file_id=made.id))
    assert (gone.id, gone.object, gone.deleted) == (made.id, "file", True)
    with pytest.raises(grpc.RpcError) as missing:
        stub.get_file(GetFileRequest(file_id=made.id))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


def test_typed_grpc_errors(stub: FilesServiceStub) -> None:
    too_big = CreateFileMetadata(filename="x.bin", purpose="assistants", bytes=MAX_FILE + 1)
    with pytest.raises(grpc.RpcError) as refused:
        stub.create_file(_upload(too_big, b""))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "File is too large." in refused.value.details()  # type: ignore[attr-defined]
    bad = CreateFileMetadata(filename="x.bin", purpose="nonsense")
    with pytest.raises(grpc.RpcError) as refused:
        stub.create_file(_upload(bad, b"x"))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    with pytest.raises(grpc.RpcError) as refused:
        stub.create_file(iter([CreateFileRequest(data=b"bytes before metadata")]))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    with pytest.raises(grpc.RpcError) as missing:
        list(stub.get_file_content(GetFileContentRequest(file_id="file-missing")))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


def test_bytes_live_in_the_data_directory_on_sqlite(files_service: ServiceProcess, acme: OpenAI) -> None:
    data = b"content-addressed"
    made = acme.files.create(file=("ca.txt", data), purpose="assistants")
    digest = hashlib.sha256(data).hexdigest()
    blobs = list(Path(files_service.data_dir).rglob(digest))
    if "--store" in files_service.extra_args:
        assert blobs == []  # PostgreSQL keeps them in the database
    else:
        assert len(blobs) == 1 and blobs[0].read_bytes() == data
    acme.files.delete(made.id)
    assert not [p for p in blobs if p.exists()]
