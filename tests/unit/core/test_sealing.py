"""Sealed reasoning: round trip, rotation, tampering, foreign tokens."""

from __future__ import annotations

import base64

import pytest

from rejoinder.core.context.sealing import PREFIX, ReasoningSealer, SealError, new_key


def test_round_trip_keeps_the_parts() -> None:
    sealer = ReasoningSealer([new_key()])
    token = sealer.seal(["first thought", "second"])
    assert token.startswith(PREFIX) and "first thought" not in token
    assert sealer.open(token) == ["first thought", "second"]


def test_each_seal_is_different() -> None:
    sealer = ReasoningSealer([new_key()])
    assert sealer.seal(["same"]) != sealer.seal(["same"])


def test_rotation_opens_old_tokens_and_seals_with_the_new_key() -> None:
    old, new = new_key(), new_key()
    token = ReasoningSealer([old]).seal(["kept"])
    rotated = ReasoningSealer([new, old])
    assert rotated.open(token) == ["kept"]
    with pytest.raises(SealError):
        ReasoningSealer([old]).open(rotated.seal(["fresh"]))


@pytest.mark.parametrize("position", [5, 20, -1])
def test_a_tampered_token_fails(position: int) -> None:
    sealer = ReasoningSealer([new_key()])
    raw = bytearray(base64.urlsafe_b64decode(sealer.seal(["secret"])[len(PREFIX) :]))
    raw[position] ^= 1
    with pytest.raises(SealError):
        sealer.open(PREFIX + base64.urlsafe_b64encode(bytes(raw)).decode())


@pytest.mark.parametrize("token", ["", "gAAAAABfoo", PREFIX + "!!!", PREFIX + "AAAA"])
def test_foreign_or_malformed_tokens_fail(token: str) -> None:
    with pytest.raises(SealError):
        ReasoningSealer([new_key()]).open(token)


def test_a_token_from_another_server_fails() -> None:
    with pytest.raises(SealError):
        ReasoningSealer([new_key()]).open(ReasoningSealer([new_key()]).seal(["theirs"]))


def test_keys_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        ReasoningSealer([b"short"])
    with pytest.raises(ValueError):
        ReasoningSealer([])
