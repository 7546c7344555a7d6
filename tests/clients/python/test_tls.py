"""The client's TLS options against the live service behind a TLS edge: a real Envoy terminating TLS
(server certificate from a private CA, client certificates required) and passing the gRPC connection on
to `rejoinder serve`."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rejoinder.edge.ports import free_port
from rejoinder_client.helpers import Tls, async_channel, output_text, status_of, sync_channel
from rejoinder_client.rejoinder.responses.v1 import (
    CreateRequest,
    Input,
    ListModelsRequest,
    ModelsServiceAsyncStub,
    ModelsServiceStub,
    ResponsesServiceStub,
)
from tests.clients.python.conftest import ACME, MODEL
from tests.e2e.service_process import ServiceProcess
from tests.e2e.test_external_envoy import ExternalEnvoy
from tests.scripted_upstream import Script, ScriptedUpstream

SERVER_NAME = "rejoinder.test"  # the only name on the server's certificate


@dataclass(frozen=True)
class Pki:
    """PEM files: a private CA, the edge's certificate (for SERVER_NAME) and a client's, each with its key."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


@dataclass(frozen=True)
class TlsEdge:
    target: str
    pki: Pki


def _issue(
    folder: Path, name: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, **kind: bool
) -> tuple[x509.Name, ec.EllipticCurvePrivateKey]:
    """A key and a certificate for `name` (self-signed when `issuer` is None), written as name.pem and
    name.key; `ca`, `server` or `client` says what it is for."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer or (subject, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=kind.get("ca", False), path_length=None), critical=True)
    )
    if kind.get("server"):
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    if kind.get("client"):
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    cert = builder.sign(issuer_key, hashes.SHA256())
    (folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return subject, key


def make_pki(folder: Path) -> Pki:
    ca = _issue(folder, "test-ca", None, ca=True)
    _issue(folder, SERVER_NAME, ca, server=True)
    _issue(folder, "client", ca, client=True)
    return Pki(
        ca=folder / "test-ca.pem",
        server_cert=folder / f"{SERVER_NAME}.pem",
        server_key=folder / f"{SERVER_NAME}.key",
        client_cert=folder / "client.pem",
        client_key=folder / "client.key",
    )


def _bootstrap(pki: Pki, port: int, admin_port: int, grpc_port: int) -> dict[str, object]:
    """Envoy: a TLS listener (h2, client certificates from the CA required) proxying TCP to gRPC."""
    tls = {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        "require_client_certificate": True,
        "common_tls_context": {
            "alpn_protocols": ["h2"],
            "tls_certificates": [
                {
                    "certificate_chain": {"filename": str(pki.server_cert)},
                    "private_key": {"filename": str(pki.server_key)},
                }
            ],
            "validation_context": {"trusted_ca": {"filename": str(pki.ca)}},
        },
    }
    proxy = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
        "stat_prefix": "tls_edge",
        "cluster": "rejoinder",
    }
    address = {"socket_address": {"address": "127.0.0.1", "port_value": grpc_port}}
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {
            "listeners": [
                {
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
                    "filter_chains": [
                        {
                            "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": tls},
                            "filters": [{"name": "envoy.filters.network.tcp_proxy", "typed_config": proxy}],
                        }
                    ],
                }
            ],
            "clusters": [
                {
                    "name": "rejoinder",
                    "type": "STATIC",
                    "connect_timeout": "2s",
                    "load_assignment": {
                        "cluster_name": "rejoinder",
                        "endpoints": [{"lb_endpoints": [{"endpoint": {"address": address}}]}],
                    },
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def tls_edge(tmp_path_factory: pytest.TempPathFactory, keyed_service: ServiceProcess) -> Iterator[TlsEdge]:
    folder = tmp_path_factory.mktemp("tls-edge")
    pki = make_pki(folder)
    port, admin_port = free_port(), free_port()
    config = folder / "envoy.json"
    config.write_text(json.dumps(_bootstrap(pki, port, admin_port, keyed_service.grpc_port)))
    envoy = ExternalEnvoy(config, admin_port)
    yield TlsEdge(target=f"127.0.0.1:{port}", pki=pki)
    envoy.stop()


def _tls(pki: Pki, **changes: object) -> Tls:
    fields: dict[str, object] = {
        "ca_file": pki.ca,
        "cert_file": pki.client_cert,
        "key_file": pki.client_key,
        "server_name": SERVER_NAME,
    }
    return Tls(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_sync_channel_speaks_tls_with_a_private_ca_and_a_client_certificate(
    tls_edge: TlsEdge, upstream: ScriptedUpstream
) -> None:
    with sync_channel(tls_edge.target, api_key=ACME, tls=_tls(tls_edge.pki)) as channel:
        assert MODEL in [m.id for m in ModelsServiceStub(channel).list_models(ListModelsRequest()).data]
        upstream.enqueue(Script(text="over tls"))
        made = ResponsesServiceStub(channel).create(CreateRequest(model=MODEL, input=Input(text="hi")))
        assert made.response is not None and output_text(made.response) == "over tls"


async def test_an_async_channel_speaks_tls_with_a_private_ca_and_a_client_certificate(
    tls_edge: TlsEdge,
) -> None:
    with closing(async_channel(tls_edge.target, api_key=ACME, tls=_tls(tls_edge.pki))) as channel:
        listed = await ModelsServiceAsyncStub(channel).list_models(ListModelsRequest())
        assert MODEL in [m.id for m in listed.data]


@pytest.mark.parametrize(
    "changes",
    [
        {"server_name": None},  # the certificate does not name 127.0.0.1
        {"ca_file": None},  # the default roots do not know the private CA
        {"cert_file": None, "key_file": None},  # the edge wants a client certificate
    ],
    ids=["wrong-name", "unknown-ca", "no-client-certificate"],
)
def test_a_sync_channel_refuses_or_is_refused_what_tls_does_not_allow(
    tls_edge: TlsEdge, changes: dict[str, object]
) -> None:
    tls = _tls(tls_edge.pki, **changes)
    with (
        sync_channel(tls_edge.target, api_key=ACME, tls=tls) as channel,
        pytest.raises(grpc.RpcError) as refused,
    ):
        ModelsServiceStub(channel).list_models(ListModelsRequest())
    assert status_of(refused.value).code == grpc.StatusCode.UNAVAILABLE
