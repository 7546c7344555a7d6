"""Object IDs with OpenAI's prefixes, from an injected generator."""

from __future__ import annotations

import secrets
from typing import Protocol


class IdGenerator(Protocol):
    """Makes new object IDs."""

    def new(self, prefix: str) -> str:
        """A new unique ID that starts with `prefix` and an underscore, e.g. "resp_..."."""
        ...


class RandomIds:
    """IDs like OpenAI's: the prefix and 48 random hex digits."""

    def new(self, prefix: str) -> str:
        """A new random ID."""
        return f"{prefix}_{secrets.token_hex(24)}"
