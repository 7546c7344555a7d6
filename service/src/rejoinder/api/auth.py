"""API keys: which tenant a call is for (DESIGN.md section 7).

Keys are configured as hashes (`sha256:<hex>`, made by `rejoinder hash-key`), never in the clear. A call
carries its key as `authorization: Bearer <key>` (what the `openai` SDK sends; Envoy passes it on). With
no keys configured the server is open, for the one tenant "" (and `config` keeps it on loopback).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from rejoinder.errors import ApiError, ErrorKind
from rejoinder.observe.record import current

HASH_PREFIX = "sha256:"
OPEN_TENANT = ""

Metadata = Iterable[tuple[str, str | bytes]]


class Call(Protocol):
    """What a servicer's context offers: the call's metadata."""

    def invocation_metadata(self) -> Metadata | None:
        """The metadata the client sent."""
        ...


NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)


def hash_key(key: str) -> str:
    """The form a key is configured in."""
    return HASH_PREFIX + hashlib.sha256(key.encode()).hexdigest()


def _masked(key: str) -> str:
    """A wrong key as it is echoed: never its length, and its ends only when it is long and plain."""
    if len(key) >= 16 and key.isascii() and key.isprintable():
        return f"{key[:3]}****{key[-4:]}"
    return "****"


class Authenticator:
    """Maps a call's API key to its tenant."""

    def __init__(self, tenants: Mapping[str, Sequence[str]]) -> None:
        """`tenants`: tenant name -> the hashes of its keys."""
        self._tenant_of_hash = {h.lower(): tenant for tenant, hashes in tenants.items() for h in hashes}

    @property
    def open(self) -> bool:
        """No keys configured: every call is the open tenant's."""
        return not self._tenant_of_hash

    def tenant_of(self, call: Call) -> str:
        """`tenant` of the call's metadata, which an open server does not read (noted in the call's
        record, for its access line)."""
        tenant = OPEN_TENANT if self.open else self.tenant(call.invocation_metadata())
        current().tenant = tenant
        return tenant

    def tenant(self, metadata: Metadata | None) -> str:
        """The caller's tenant; raises `ApiError` (401) for a missing or unknown key."""
        if self.open:
            return OPEN_TENANT
        header = next((value for key, value in metadata or () if key == "authorization"), None)
        text = header.decode() if isinstance(header, bytes) else header
        scheme, _, key = (text or "").strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise ApiError(ErrorKind.AUTHENTICATION, NO_KEY)
        tenant = self._tenant_of_hash.get(hash_key(key))
        if tenant is None:
            raise ApiError(
                ErrorKind.AUTHENTICATION,
                f"Incorrect API key provided: {_masked(key)}.",
                code="invalid_api_key",
            )
        return tenant
