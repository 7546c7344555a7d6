"""Stateless reasoning: reasoning items sealed with AES-256-GCM under server keys, so a client that
stores nothing can send them back (`include: ["reasoning.encrypted_content"]`).

A token is `rj1.` + base64url(key id (8 bytes) + nonce (12 bytes) + ciphertext). The first key
seals; every key opens, so keys can be rotated by putting a new one first.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "rj1."
AAD = b"rejoinder.reasoning.v1"
KEY_BYTES = 32
NONCE_BYTES = 12
ID_BYTES = 8


class SealError(Exception):
    """The token is not one of ours, was altered, or its key is gone."""


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:ID_BYTES]


class ReasoningSealer:
    """Seals and opens reasoning text."""

    def __init__(self, keys: Sequence[bytes], *, aad: bytes = AAD, what: str = "reasoning") -> None:
        """`aad` binds tokens to one purpose (a token sealed for another does not open); `what`
        names the purpose in error messages."""
        if not keys:
            raise ValueError("at least one key is needed")
        for key in keys:
            if len(key) != KEY_BYTES:
                raise ValueError(f"reasoning keys are {KEY_BYTES} bytes")
        self._active = keys[0]
        self._keys = {_key_id(k): AESGCM(k) for k in keys}
        self._all = tuple(keys)
        self._aad = aad
        self._what = what

    def for_purpose(self, aad: bytes, what: str) -> ReasoningSealer:
        """A sealer under the same keys whose tokens are bound to another purpose (`aad`)."""
        return ReasoningSealer(self._all, aad=aad, what=what)

    def seal(self, parts: Sequence[str]) -> str:
        """The token for these text parts."""
        nonce = os.urandom(NONCE_BYTES)
        key_id = _key_id(self._active)
        sealed = self._keys[key_id].encrypt(nonce, orjson.dumps(list(parts)), self._aad)
        return PREFIX + base64.urlsafe_b64encode(key_id + nonce + sealed).decode()

    def open(self, token: str) -> list[str]:
        """The text parts a token holds. Raises `SealError`."""
        if not token.startswith(PREFIX):
            raise SealError(f"not a {self._what} token of this server")
        try:
            raw = base64.urlsafe_b64decode(token[len(PREFIX) :].encode())
        except ValueError as exc:
            raise SealError(f"malformed {self._what} token") from exc
        key_id, nonce, sealed = (
            raw[:ID_BYTES],
            raw[ID_BYTES : ID_BYTES + NONCE_BYTES],
            raw[ID_BYTES + NONCE_BYTES :],
        )
        aead = self._keys.get(key_id)
        if aead is None or len(nonce) != NONCE_BYTES:
            raise SealError(f"{self._what} token sealed with an unknown key")
        try:
            parts = orjson.loads(aead.decrypt(nonce, sealed, self._aad))
        except (InvalidTag, orjson.JSONDecodeError) as exc:
            raise SealError(f"{self._what} token failed authentication") from exc
        if not isinstance(parts, list) or not all(isinstance(x, str) for x in parts):
            raise SealError(f"{self._what} token holds no {self._what}")
        return parts


def new_key() -> bytes:
    """A fresh random key."""
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)
