"""The storage contract of prompt templates: versioned texts per tenant (core/prompts/).

A template is its ID, its tenant and its versions (1, 2, ...); one version is the default. Versions are
never changed once saved: an update adds one, and only when it names the latest version (so two
clients that both read version 3 cannot both save a version 4 from it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rejoinder.store.base import Order


@dataclass(frozen=True)
class PromptVersion:
    """One saved version of a template: its text and the variables it declares."""

    prompt_id: str
    version: int
    prompt: str
    variables: tuple[str, ...]
    created_at: int
    is_default: bool = False


@dataclass(frozen=True)
class PromptPage:
    """A page of templates (each at its default version) in the requested order, and whether more follow."""

    prompts: tuple[PromptVersion, ...]
    has_more: bool


@dataclass(frozen=True)
class StaleVersion:
    """An update refused: it named `given`, but the template's latest version is `latest`."""

    given: int
    latest: int


class PromptStore(Protocol):
    """Where prompt templates live. Every method acts for one tenant ("" without API keys) and sees only
    that tenant's templates: another tenant's is as if it did not exist."""

    async def create_prompt(self, first: PromptVersion, *, tenant: str = "") -> PromptVersion:
        """Save a new template whose version 1 (the default) is `first`; returns it. Its ID must be new."""
        ...

    async def get_prompt(
        self, prompt_id: str, version: int | None, *, tenant: str = ""
    ) -> PromptVersion | None:
        """That version of the template (its default version when `version` is None), or None when the
        template or the version does not exist."""
        ...

    async def list_prompts(
        self, *, after: str | None, limit: int, order: Order, tenant: str = ""
    ) -> PromptPage:
        """A page of the tenant's templates, each at its default version, in the order they were created
        in: the `limit` that follow the template `after` (one that is not the tenant's gives an empty
        page)."""
        ...

    async def add_version(
        self, new: PromptVersion, *, updates: int, make_default: bool, tenant: str = ""
    ) -> PromptVersion | StaleVersion | None:
        """Save `new` (its `version` must be `updates + 1`) as the template's next version when `updates`
        is its latest version, and make it the default when `make_default`; returns it as saved.
        `StaleVersion` when `updates` is not the latest; None when there is no such template."""
        ...

    async def list_versions(self, prompt_id: str, *, tenant: str = "") -> tuple[PromptVersion, ...] | None:
        """Every version of the template, oldest first; None when there is no such template."""
        ...

    async def set_default_version(
        self, prompt_id: str, version: int, *, tenant: str = ""
    ) -> PromptVersion | None:
        """Make `version` the template's default; returns it. None when the template or the version does
        not exist."""
        ...

    async def delete_prompt(self, prompt_id: str, *, tenant: str = "") -> bool:
        """Delete the template and all its versions; False when there was none."""
        ...
