"""A prompt store whose every operation is timed and traced like the response store's (`observed.py`):
`rejoinder_store_operation_duration_seconds{operation}` and a `store {operation}` span."""

from __future__ import annotations

from typing import TypeVar

from rejoinder.observe.observer import Observer
from rejoinder.store.base import Order
from rejoinder.store.observed import StoreTimer
from rejoinder.store.prompts.base import PromptPage, PromptStore, PromptVersion, StaleVersion

T = TypeVar("T")


class ObservedPromptStore:
    """`PromptStore` over another, reporting each operation's time to the observer."""

    def __init__(self, prompts: PromptStore, observer: Observer, system: str = "") -> None:
        """`system`: the database, as OpenTelemetry names it (`sqlite`, `postgresql`), for the spans."""
        self._prompts = prompts
        self._timed = StoreTimer(observer, system)

    async def create_prompt(self, first: PromptVersion, *, tenant: str = "") -> PromptVersion:
        return await self._timed("create_prompt", self._prompts.create_prompt(first, tenant=tenant))

    async def get_prompt(
        self, prompt_id: str, version: int | None, *, tenant: str = ""
    ) -> PromptVersion | None:
        return await self._timed("get_prompt", self._prompts.get_prompt(prompt_id, version, tenant=tenant))

    async def list_prompts(
        self, *, after: str | None, limit: int, order: Order, tenant: str = ""
    ) -> PromptPage:
        page = self._prompts.list_prompts(after=after, limit=limit, order=order, tenant=tenant)
        return await self._timed("list_prompts", page)

    async def add_version(
        self, new: PromptVersion, *, updates: int, make_default: bool, tenant: str = ""
    ) -> PromptVersion | StaleVersion | None:
        added = self._prompts.add_version(new, updates=updates, make_default=make_default, tenant=tenant)
        return await self._timed("add_prompt_version", added)

    async def list_versions(self, prompt_id: str, *, tenant: str = "") -> tuple[PromptVersion, ...] | None:
        return await self._timed(
            "list_prompt_versions", self._prompts.list_versions(prompt_id, tenant=tenant)
        )

    async def set_default_version(
        self, prompt_id: str, version: int, *, tenant: str = ""
    ) -> PromptVersion | None:
        chosen = self._prompts.set_default_version(prompt_id, version, tenant=tenant)
        return await self._timed("set_default_prompt_version", chosen)

    async def delete_prompt(self, prompt_id: str, *, tenant: str = "") -> bool:
        return await self._timed("delete_prompt", self._prompts.delete_prompt(prompt_id, tenant=tenant))
