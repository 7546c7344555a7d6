"""The SQL of the prompt template stores, written once with `?` marks (`files.sql.numbered` makes
PostgreSQL's `$n` of it), and the rows it reads."""

from __future__ import annotations

import json
from typing import Any

from rejoinder.store.base import Order
from rejoinder.store.prompts.base import PromptVersion

SELECT = (
    "SELECT v.prompt_id, v.version, v.prompt, v.variables, v.created_at, p.default_version "
    "FROM prompts p JOIN prompt_versions v ON v.prompt_id = p.id"
)
INSERT_PROMPT = (
    "INSERT INTO prompts (id, tenant, created_at, latest_version, default_version) VALUES (?, ?, ?, 1, 1)"
)
INSERT_VERSION = (
    "INSERT INTO prompt_versions (prompt_id, version, created_at, prompt, variables) VALUES (?, ?, ?, ?, ?)"
)
GET_VERSION = f"{SELECT} WHERE p.id = ? AND p.tenant = ? AND v.version = ?"
GET_DEFAULT = f"{SELECT} WHERE p.id = ? AND p.tenant = ? AND v.version = p.default_version"
VERSIONS = f"{SELECT} WHERE p.id = ? AND p.tenant = ? ORDER BY v.version"
SEQ = {"sqlite": "rowid", "postgres": "seq"}
"""The column that orders templates as they were created, per database."""
LATEST = "SELECT latest_version FROM prompts WHERE id = ? AND tenant = ?"
_BUMP = (
    "UPDATE prompts SET latest_version = latest_version + 1{} "
    "WHERE id = ? AND tenant = ? AND latest_version = ?"
)
BUMP = _BUMP.format("") + " RETURNING default_version"
BUMP_DEFAULT = _BUMP.format(", default_version = latest_version + 1") + " RETURNING default_version"
SET_DEFAULT = (
    "UPDATE prompts SET default_version = ? WHERE id = ? AND tenant = ? "
    "AND EXISTS (SELECT 1 FROM prompt_versions WHERE prompt_id = ? AND version = ?) RETURNING id"
)
DELETE = "DELETE FROM prompts WHERE id = ? AND tenant = ? RETURNING id"


def cursor(seq: str) -> str:
    """Where the template `after` stands in creation order. Parameters: id, tenant."""
    return f"SELECT {seq} FROM prompts WHERE id = ? AND tenant = ?"


def page(order: Order, *, after: bool, seq: str) -> str:
    """A page of a tenant's templates at their default versions, in creation order (`seq`, a column of
    `SEQ`). Parameters: tenant, [the `cursor` of `after`], limit (one more than the page, to tell
    whether more follow)."""
    direction = "ASC" if order == "asc" else "DESC"
    where = "p.tenant = ?"
    if after:
        where += f" AND p.{seq} {'>' if order == 'asc' else '<'} ?"
    return f"{SELECT} AND v.version = p.default_version WHERE {where} ORDER BY p.{seq} {direction} LIMIT ?"


def version_row(version: PromptVersion) -> tuple[object, ...]:
    """The INSERT_VERSION parameters of a version."""
    return (
        version.prompt_id,
        version.version,
        version.created_at,
        version.prompt,
        json.dumps(list(version.variables)),
    )


def version_of(row: Any) -> PromptVersion:
    """A version from a row of `SELECT` (an SQLite tuple or an asyncpg record)."""
    prompt_id, version, prompt, variables, created_at, default_version = tuple(row)
    names = json.loads(variables)
    return PromptVersion(
        prompt_id=str(prompt_id),
        version=int(version),
        prompt=str(prompt),
        variables=tuple(str(n) for n in names),
        created_at=int(created_at),
        is_default=int(version) == int(default_version),
    )
