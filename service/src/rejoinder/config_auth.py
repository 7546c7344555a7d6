"""`[auth.tenants]`: each tenant's API keys, as the SHA-256 hashes that `rejoinder hash-key` prints.

A tenant must list at least one usable key: an empty list, a hash that is not `sha256:<64 lowercase hex>`,
the hash of an empty or blank key (a key is read with its surrounding blanks cut, so such a key can never
be presented) and a hash listed twice are configuration errors, so that no mistake leaves a server open.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping

PREFIX = "sha256:"
_HEX = frozenset("0123456789abcdef")
_BLANKS = " \t\r\n"


def _blank_key_hashes() -> frozenset[str]:
    """The hashes of the empty key and of keys of up to three blanks."""
    keys = ("".join(chars) for n in range(4) for chars in itertools.product(_BLANKS, repeat=n))
    return frozenset(PREFIX + hashlib.sha256(k.encode()).hexdigest() for k in keys)


_UNUSABLE = _blank_key_hashes()


def _check_hash(tenant: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"auth tenant {tenant!r}: {value!r} is not a key hash (a string sha256:<64 hex>)")
    digest = value.removeprefix(PREFIX)
    if not value.startswith(PREFIX) or len(digest) != 64 or not set(digest) <= _HEX:
        shown = value if len(value) <= 80 else value[:80] + "..."
        raise ValueError(
            f"auth tenant {tenant!r}: {shown!r} is not sha256:<64 lowercase hex> "
            '(make one with `echo "$KEY" | rejoinder hash-key`)'
        )
    if value in _UNUSABLE:
        raise ValueError(f"auth tenant {tenant!r}: {value[:20]}... is the hash of an empty or blank key")
    return value


def auth_tenants(doc: object) -> dict[str, tuple[str, ...]]:
    """Tenant name -> the hashes of its keys. Raises `ValueError` naming the tenant and the problem."""
    if not isinstance(doc, Mapping):
        raise ValueError('[auth.tenants] must be a table: tenant = ["sha256:...", ...]')
    tenants: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for name, hashes in doc.items():
        tenant = str(name)
        if not tenant.strip():
            raise ValueError("[auth.tenants]: a tenant needs a name")
        if not isinstance(hashes, list) or not hashes:
            raise ValueError(
                f"auth tenant {tenant!r} has no keys: list at least one key hash, or remove the tenant"
            )
        checked = tuple(_check_hash(tenant, h) for h in hashes)
        for h in checked:
            if h in owner:
                raise ValueError(f"auth tenant {tenant!r}: a key hash is listed twice (also by {owner[h]!r})")
            owner[h] = tenant
        tenants[tenant] = checked
    return tenants


def key_count(tenants: Mapping[str, tuple[str, ...]]) -> int:
    """How many usable keys are configured."""
    return sum(len(hashes) for hashes in tenants.values())
