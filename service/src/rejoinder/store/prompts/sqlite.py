"""`PromptStore` for SQLite deployments: the templates in the SQLite store's database (migration 6).

An update bumps the template's latest version only where it still is the one the update names, and
inserts the new version, in one write transaction: SQLite's write lock orders updates across every
process that shares the database (`serve --workers N`), so exactly one of two updates from the same
version wins.
"""

from __future__ import annotations

import dataclasses
import sqlite3

from rejoinder.store.base import Order
from rejoinder.store.prompts import sql as q
from rejoinder.store.prompts.base import PromptPage, PromptVersion, StaleVersion
from rejoinder.store.sqlite import SqliteStore
from rejoinder.store.sqlite_ops import transaction

SEQ = q.SEQ["sqlite"]


def _create(conn: sqlite3.Connection, first: PromptVersion, tenant: str) -> PromptVersion:
    with transaction(conn, "IMMEDIATE"):
        conn.execute(q.INSERT_PROMPT, (first.prompt_id, tenant, first.created_at))
        conn.execute(q.INSERT_VERSION, q.version_row(first))
    return dataclasses.replace(first, is_default=True)


def _get(conn: sqlite3.Connection, prompt_id: str, version: int | None, tenant: str) -> PromptVersion | None:
    if version is None:
        row = conn.execute(q.GET_DEFAULT, (prompt_id, tenant)).fetchone()
    else:
        row = conn.execute(q.GET_VERSION, (prompt_id, tenant, version)).fetchone()
    return None if row is None else q.version_of(row)


def _page(conn: sqlite3.Connection, tenant: str, after: str | None, limit: int, order: Order) -> PromptPage:
    params: list[object] = [tenant]
    with transaction(conn):
        if after is not None:
            cursor = conn.execute(q.cursor(SEQ), (after, tenant)).fetchone()
            if cursor is None:
                return PromptPage((), has_more=False)
            params.append(cursor[0])
        rows = conn.execute(q.page(order, after=after is not None, seq=SEQ), (*params, limit + 1)).fetchall()
    return PromptPage(tuple(q.version_of(row) for row in rows[:limit]), has_more=len(rows) > limit)


def _add(
    conn: sqlite3.Connection, new: PromptVersion, updates: int, make_default: bool, tenant: str
) -> PromptVersion | StaleVersion | None:
    with transaction(conn, "IMMEDIATE"):
        bump = q.BUMP_DEFAULT if make_default else q.BUMP
        row = conn.execute(bump, (new.prompt_id, tenant, updates)).fetchone()
        if row is None:
            latest = conn.execute(q.LATEST, (new.prompt_id, tenant)).fetchone()
            return None if latest is None else StaleVersion(given=updates, latest=int(latest[0]))
        conn.execute(q.INSERT_VERSION, q.version_row(new))
    return dataclasses.replace(new, is_default=int(row[0]) == new.version)


def _versions(conn: sqlite3.Connection, prompt_id: str, tenant: str) -> tuple[PromptVersion, ...] | None:
    rows = conn.execute(q.VERSIONS, (prompt_id, tenant)).fetchall()
    return tuple(q.version_of(row) for row in rows) or None  # a template has at least its version 1


def _set_default(conn: sqlite3.Connection, prompt_id: str, version: int, tenant: str) -> PromptVersion | None:
    with transaction(conn, "IMMEDIATE"):
        row = conn.execute(q.SET_DEFAULT, (version, prompt_id, tenant, prompt_id, version)).fetchone()
        if row is None:
            return None
        found = conn.execute(q.GET_VERSION, (prompt_id, tenant, version)).fetchone()
    return q.version_of(found)


def _delete(conn: sqlite3.Connection, prompt_id: str, tenant: str) -> bool:
    with transaction(conn, "IMMEDIATE"):
        return conn.execute(q.DELETE, (prompt_id, tenant)).fetchone() is not None


class SqlitePromptStore:
    """Prompt templates of a `SqliteStore`."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def create_prompt(self, first: PromptVersion, *, tenant: str = "") -> PromptVersion:
        """Insert the template and its version 1, in one transaction."""
        return await self._store.run(_create, first, tenant)

    async def get_prompt(
        self, prompt_id: str, version: int | None, *, tenant: str = ""
    ) -> PromptVersion | None:
        """That version (the default when None), or None."""
        return await self._store.run(_get, prompt_id, version, tenant)

    async def list_prompts(
        self, *, after: str | None, limit: int, order: Order, tenant: str = ""
    ) -> PromptPage:
        """A page of the tenant's templates at their default versions."""
        return await self._store.run(_page, tenant, after, limit, order)

    async def add_version(
        self, new: PromptVersion, *, updates: int, make_default: bool, tenant: str = ""
    ) -> PromptVersion | StaleVersion | None:
        """The next version, when `updates` is the latest."""
        return await self._store.run(_add, new, updates, make_default, tenant)

    async def list_versions(self, prompt_id: str, *, tenant: str = "") -> tuple[PromptVersion, ...] | None:
        """Every version, oldest first, or None."""
        return await self._store.run(_versions, prompt_id, tenant)

    async def set_default_version(
        self, prompt_id: str, version: int, *, tenant: str = ""
    ) -> PromptVersion | None:
        """Make `version` the default, or None."""
        return await self._store.run(_set_default, prompt_id, version, tenant)

    async def delete_prompt(self, prompt_id: str, *, tenant: str = "") -> bool:
        """Delete the template (its versions go with it)."""
        return await self._store.run(_delete, prompt_id, tenant)
