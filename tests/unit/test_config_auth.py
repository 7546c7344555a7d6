"""`[auth.tenants]`: every mistake that could leave a server open is a configuration error."""

from __future__ import annotations

import pytest

from rejoinder.api.auth import hash_key
from rejoinder.config_auth import auth_tenants, key_count

GOOD = hash_key("sk-acme-0001")


def test_tenants_map_to_their_hashes() -> None:
    tenants = auth_tenants({"acme": [GOOD, hash_key("sk-acme-0002")], "globex": [hash_key("sk-g")]})
    assert tenants == {"acme": (GOOD, hash_key("sk-acme-0002")), "globex": (hash_key("sk-g"),)}
    assert key_count(tenants) == 3
    assert key_count({}) == 0


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"acme": []}, "auth tenant 'acme' has no keys"),
        ({"acme": "sha256:x"}, "auth tenant 'acme' has no keys"),
        ({"acme": [""]}, "'' is not sha256:<64 lowercase hex>"),
        ({"acme": [" " + GOOD]}, "is not sha256:<64 lowercase hex>"),
        ({"acme": [GOOD.upper()]}, "is not sha256:<64 lowercase hex>"),
        ({"acme": [GOOD[:-1]]}, "is not sha256:<64 lowercase hex>"),
        ({"acme": [7]}, "7 is not a key hash"),
        ({"acme": [hash_key("")]}, "is the hash of an empty or blank key"),
        ({"acme": [hash_key(" \t")]}, "is the hash of an empty or blank key"),
        (
            {"acme": [GOOD], "globex": [GOOD]},
            "auth tenant 'globex': a key hash is listed twice (also by 'acme')",
        ),
        ({" ": [GOOD]}, "a tenant needs a name"),
        (["acme"], "must be a table"),
    ],
)
def test_unusable_keys_are_refused(doc: object, message: str) -> None:
    with pytest.raises(ValueError, match=None) as refused:
        auth_tenants(doc)
    assert message in str(refused.value)


def test_a_very_long_malformed_hash_is_not_echoed_whole() -> None:
    with pytest.raises(ValueError) as refused:
        auth_tenants({"acme": ["x" * 10_000]})
    assert len(str(refused.value)) < 300
