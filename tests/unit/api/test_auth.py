"""API keys to tenants."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from rejoinder.api.auth import OPEN_TENANT, Authenticator, hash_key
from rejoinder.errors import ApiError, ErrorKind

ACME_KEY = "sk-acme-0123456789"
GLOBEX_KEY = "sk-globex-abcdefgh"
AUTH = Authenticator(
    {"acme": [hash_key(ACME_KEY), hash_key("sk-acme-rotated")], "globex": [hash_key(GLOBEX_KEY)]}
)


def test_a_key_is_configured_as_its_sha256() -> None:
    assert hash_key("sk-x") == "sha256:" + hashlib.sha256(b"sk-x").hexdigest()


def test_without_keys_every_call_is_the_open_tenant() -> None:
    open_server = Authenticator({})
    assert open_server.open
    assert (
        open_server.tenant(None) == open_server.tenant([("authorization", "Bearer anything")]) == OPEN_TENANT
    )


@pytest.mark.parametrize(
    ("metadata", "tenant"),
    [
        ([("authorization", f"Bearer {ACME_KEY}")], "acme"),
        ([("authorization", "Bearer sk-acme-rotated")], "acme"),  # a tenant may have several keys
        ([("x-other", "1"), ("authorization", f"bearer  {GLOBEX_KEY} ")], "globex"),
        ([("authorization", f"Bearer {GLOBEX_KEY}".encode())], "globex"),
    ],
)
def test_a_known_key_names_its_tenant(metadata: list[tuple[str, str | bytes]], tenant: str) -> None:
    assert not AUTH.open
    assert AUTH.tenant(metadata) == tenant


@pytest.mark.parametrize(
    "metadata",
    [None, [], [("authorization", "")], [("authorization", "Basic abc")], [("authorization", "Bearer ")]],
)
def test_no_key_is_a_401_that_says_how_to_send_one(metadata: list[tuple[str, str]] | None) -> None:
    with pytest.raises(ApiError) as info:
        AUTH.tenant(metadata)
    assert info.value.kind is ErrorKind.AUTHENTICATION
    assert "Authorization: Bearer" in info.value.message


def test_a_wrong_key_is_a_401_that_never_echoes_the_key() -> None:
    with pytest.raises(ApiError) as info:
        AUTH.tenant([("authorization", "Bearer sk-wrong-secret-value")])
    assert (info.value.kind, info.value.code) == (ErrorKind.AUTHENTICATION, "invalid_api_key")
    assert "sk-wrong-secret-value" not in info.value.message and "alue" in info.value.message


def test_hash_key_command_prints_the_hash_to_configure() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rejoinder", "hash-key"], input=f"{ACME_KEY}\n", capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == hash_key(ACME_KEY)
    empty = subprocess.run(
        [sys.executable, "-m", "rejoinder", "hash-key"], input="", capture_output=True, text=True
    )
    assert empty.returncode == 2 and "no key" in empty.stderr


class _Call:
    def __init__(self, metadata: list[tuple[str, str | bytes]]) -> None:
        self.metadata = metadata
        self.reads = 0

    def invocation_metadata(self) -> list[tuple[str, str | bytes]]:
        self.reads += 1
        return self.metadata


def test_an_open_server_does_not_read_the_calls_metadata() -> None:
    call = _Call([("authorization", f"Bearer {ACME_KEY}")])
    assert Authenticator({}).tenant_of(call) == OPEN_TENANT and call.reads == 0
    assert AUTH.tenant_of(call) == "acme" and call.reads == 1


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("x", "****"),
        ("sk-1234567890", "****"),  # short: nothing of it, so not its length either
        ("sk-" + "a" * 13 + "wxyz", "sk-****wxyz"),
        ("sk-" + "a" * 90 + "wxyz", "sk-****wxyz"),  # long ones read the same whatever their length
        ("sk-\x01" + "a" * 20, "****"),  # control characters are never echoed
        ("sk-é" + "a" * 20, "****"),
    ],
)
def test_a_wrong_key_is_echoed_without_its_length(key: str, shown: str) -> None:
    with pytest.raises(ApiError) as refused:
        AUTH.tenant([("authorization", f"Bearer {key}")])
    assert refused.value.message == f"Incorrect API key provided: {shown}."
