"""`PromptStore` for PostgreSQL deployments: the templates in the database every replica shares.

An update bumps the template's latest version only where it still is the one the update names (the
row lock makes a second update from the same version see the first one's bump and change nothing), and
inserts the new version in the same transaction.
"""

from __future__ import annotations

import dataclasses

import asyncpg

from rejoinder.store.base import Order
from rejoinder.store.files.sql import numbered
from rejoinder.store.prompts import sql as q
from rejoinder.store.prompts.base import PromptPage, PromptVersion, StaleVersion

_INSERT_PROMPT = numbered(q.INSERT_PROMPT)
_INSERT_VERSION = numbered(q.INSERT_VERSION)
_GET_VERSION = numbered(q.GET_VERSION)
_GET_DEFAULT = numbered(q.GET_DEFAULT)
_VERSIONS = numbered(q.VERSIONS)
_SEQ = q.SEQ["postgres"]
_CURSOR = numbered(q.cursor(_SEQ))
_LATEST = numbered(q.LATEST)
_BUMP = numbered(q.BUMP)
_BUMP_DEFAULT = numbered(q.BUMP_DEFAULT)
_SET_DEFAULT = numbered(q.SET_DEFAULT)
_DELETE = numbered(q.DELETE)


class PostgresPromptStore:
    """Prompt templates in a PostgreSQL database (the store's pool)."""

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        self._pool = pool

    async def create_prompt(self, first: PromptVersion, *, tenant: str = "") -> PromptVersion:
        """Insert the template and its version 1, in one transaction."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_INSERT_PROMPT, first.prompt_id, tenant, first.created_at)
            await conn.execute(_INSERT_VERSION, *q.version_row(first))
        return dataclasses.replace(first, is_default=True)

    async def get_prompt(
        self, prompt_id: str, version: int | None, *, tenant: str = ""
    ) -> PromptVersion | None:
        """That version (the default when None), or None."""
        if version is None:
            row = await self._pool.fetchrow(_GET_DEFAULT, prompt_id, tenant)
        else:
            row = await self._pool.fetchrow(_GET_VERSION, prompt_id, tenant, version)
        return None if row is None else q.version_of(row)

    async def list_prompts(
        self, *, after: str | None, limit: int, order: Order, tenant: str = ""
    ) -> PromptPage:
        """A page of the tenant's templates at their default versions (one snapshot)."""
        params: list[object] = [tenant]
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            if after is not None:
                seq = await conn.fetchval(_CURSOR, after, tenant)
                if seq is None:
                    return PromptPage((), has_more=False)
                params.append(seq)
            query = numbered(q.page(order, after=after is not None, seq=_SEQ))
            rows = await conn.fetch(query, *params, limit + 1)
        return PromptPage(tuple(q.version_of(row) for row in rows[:limit]), has_more=len(rows) > limit)

    async def add_version(
        self, new: PromptVersion, *, updates: int, make_default: bool, tenant: str = ""
    ) -> PromptVersion | StaleVersion | None:
        """The next version, when `updates` is the latest."""
        async with self._pool.acquire() as conn, conn.transaction():
            bump = _BUMP_DEFAULT if make_default else _BUMP
            default_version = await conn.fetchval(bump, new.prompt_id, tenant, updates)
            if default_version is None:
                latest = await conn.fetchval(_LATEST, new.prompt_id, tenant)
                return None if latest is None else StaleVersion(given=updates, latest=int(latest))
            await conn.execute(_INSERT_VERSION, *q.version_row(new))
        return dataclasses.replace(new, is_default=int(default_version) == new.version)

    async def list_versions(self, prompt_id: str, *, tenant: str = "") -> tuple[PromptVersion, ...] | None:
        """Every version, oldest first, or None."""
        rows = await self._pool.fetch(_VERSIONS, prompt_id, tenant)
        return tuple(q.version_of(row) for row in rows) or None  # a template has at least its version 1

    async def set_default_version(
        self, prompt_id: str, version: int, *, tenant: str = ""
    ) -> PromptVersion | None:
        """Make `version` the default, or None."""
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(_SET_DEFAULT, version, prompt_id, tenant, prompt_id, version) is None:
                return None
            row = await conn.fetchrow(_GET_VERSION, prompt_id, tenant, version)
        return None if row is None else q.version_of(row)

    async def delete_prompt(self, prompt_id: str, *, tenant: str = "") -> bool:
        """Delete the template (its versions go with it)."""
        return await self._pool.fetchval(_DELETE, prompt_id, tenant) is not None
