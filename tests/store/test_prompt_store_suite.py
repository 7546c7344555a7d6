"""One behaviour suite for every `PromptStore`: SQLite and PostgreSQL.

To add a prompt store, add its opener to `BACKENDS`; every test then runs against it too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from rejoinder.store.postgres import PostgresStore
from rejoinder.store.prompts.base import PromptStore, PromptVersion, StaleVersion
from rejoinder.store.prompts.postgres import PostgresPromptStore
from rejoinder.store.prompts.sqlite import SqlitePromptStore
from rejoinder.store.sqlite import SqliteStore
from tests.postgres_server import create_database, drop_database

NOW = 1_700_000_000


@dataclass
class Opened:
    """A prompt store and what must be closed after the test."""

    prompts: PromptStore
    close: Callable[[], Awaitable[None]]


async def _sqlite(tmp_path: Path, dsn: str) -> Opened:
    store = await SqliteStore.open(tmp_path / "data" / "rejoinder.db")
    return Opened(SqlitePromptStore(store), store.close)


async def _postgres(tmp_path: Path, dsn: str) -> Opened:
    store = await PostgresStore.open(dsn)
    return Opened(PostgresPromptStore(store.pool), store.close)


BACKENDS: dict[str, Callable[[Path, str], Awaitable[Opened]]] = {"sqlite": _sqlite, "postgres": _postgres}


@pytest.fixture(params=list(BACKENDS))
async def open_prompts(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_admin_dsn: str
) -> AsyncIterator[Callable[[], Awaitable[Opened]]]:
    """Opens prompt stores of one backend on the same data; closes them after the test."""
    dsn = await create_database(postgres_admin_dsn) if request.param == "postgres" else ""
    opened: list[Opened] = []

    async def open_one() -> Opened:
        opened.append(await BACKENDS[request.param](tmp_path, dsn))
        return opened[-1]

    yield open_one
    for one in opened:
        await one.close()
    if dsn:
        await drop_database(postgres_admin_dsn, dsn)


@pytest.fixture
async def prompts(open_prompts: Callable[[], Awaitable[Opened]]) -> PromptStore:
    return (await open_prompts()).prompts


def version(
    prompt_id: str, number: int = 1, text: str = "Hello {{name}}", names: tuple[str, ...] = ("name",)
) -> PromptVersion:
    return PromptVersion(prompt_id, number, text, names, NOW + number)


async def test_a_template_is_its_version_1_and_the_default(prompts: PromptStore) -> None:
    made = await prompts.create_prompt(version("pmpt_a"), tenant="acme")
    assert made == PromptVersion("pmpt_a", 1, "Hello {{name}}", ("name",), NOW + 1, is_default=True)
    assert await prompts.get_prompt("pmpt_a", None, tenant="acme") == made
    assert await prompts.get_prompt("pmpt_a", 1, tenant="acme") == made
    assert await prompts.get_prompt("pmpt_a", 2, tenant="acme") is None
    assert await prompts.get_prompt("pmpt_b", None, tenant="acme") is None


async def test_tenants_see_only_their_templates(prompts: PromptStore) -> None:
    await prompts.create_prompt(version("pmpt_a"), tenant="acme")
    assert await prompts.get_prompt("pmpt_a", None, tenant="other") is None
    assert await prompts.list_versions("pmpt_a", tenant="other") is None
    assert await prompts.set_default_version("pmpt_a", 1, tenant="other") is None
    stale = await prompts.add_version(version("pmpt_a", 2), updates=1, make_default=True, tenant="other")
    assert stale is None
    assert not await prompts.delete_prompt("pmpt_a", tenant="other")
    page = await prompts.list_prompts(after=None, limit=10, order="desc", tenant="other")
    assert page.prompts == ()
    assert (await prompts.get_prompt("pmpt_a", None, tenant="acme")) is not None


async def test_an_update_adds_the_next_version_and_refuses_a_stale_one(prompts: PromptStore) -> None:
    await prompts.create_prompt(version("pmpt_a"))
    second = await prompts.add_version(version("pmpt_a", 2, "Hi {{name}}"), updates=1, make_default=True)
    assert second == PromptVersion("pmpt_a", 2, "Hi {{name}}", ("name",), NOW + 2, is_default=True)
    stale = await prompts.add_version(version("pmpt_a", 2, "Yo"), updates=1, make_default=True)
    assert stale == StaleVersion(given=1, latest=2)
    assert await prompts.get_prompt("pmpt_a", None) == second
    third = await prompts.add_version(version("pmpt_a", 3, "Hey", ()), updates=2, make_default=False)
    assert third == PromptVersion("pmpt_a", 3, "Hey", (), NOW + 3, is_default=False)
    assert await prompts.get_prompt("pmpt_a", None) == second  # the default stayed
    versions = await prompts.list_versions("pmpt_a")
    assert versions is not None
    assert [(v.version, v.prompt, v.is_default) for v in versions] == [
        (1, "Hello {{name}}", False),
        (2, "Hi {{name}}", True),
        (3, "Hey", False),
    ]


async def test_of_two_updates_from_one_version_exactly_one_wins(
    open_prompts: Callable[[], Awaitable[Opened]],
) -> None:
    one, two = await open_prompts(), await open_prompts()  # two connections, as two replicas
    await one.prompts.create_prompt(version("pmpt_a"))
    results = await asyncio.gather(
        one.prompts.add_version(version("pmpt_a", 2, "one"), updates=1, make_default=True),
        two.prompts.add_version(version("pmpt_a", 2, "two"), updates=1, make_default=True),
    )
    won = [r for r in results if isinstance(r, PromptVersion)]
    assert len(won) == 1
    assert [r for r in results if isinstance(r, StaleVersion)] == [StaleVersion(given=1, latest=2)]
    versions = await one.prompts.list_versions("pmpt_a")
    assert versions is not None
    assert [v.prompt for v in versions] == ["Hello {{name}}", won[0].prompt]


async def test_the_default_version_can_be_set(prompts: PromptStore) -> None:
    await prompts.create_prompt(version("pmpt_a"))
    await prompts.add_version(version("pmpt_a", 2, "Hi {{name}}"), updates=1, make_default=True)
    first = await prompts.set_default_version("pmpt_a", 1)
    assert first == PromptVersion("pmpt_a", 1, "Hello {{name}}", ("name",), NOW + 1, is_default=True)
    assert await prompts.get_prompt("pmpt_a", None) == first
    assert await prompts.set_default_version("pmpt_a", 7) is None
    assert await prompts.set_default_version("pmpt_b", 1) is None
    assert (await prompts.get_prompt("pmpt_a", None)) == first


async def test_a_page_shows_each_template_at_its_default_version(prompts: PromptStore) -> None:
    for n, prompt_id in enumerate(("pmpt_a", "pmpt_b", "pmpt_c")):
        await prompts.create_prompt(PromptVersion(prompt_id, 1, f"text {n}", (), NOW + n))
    await prompts.add_version(PromptVersion("pmpt_b", 2, "b2", (), NOW + 9), updates=1, make_default=True)
    page = await prompts.list_prompts(after=None, limit=2, order="desc")
    assert [(p.prompt_id, p.version, p.prompt) for p in page.prompts] == [
        ("pmpt_c", 1, "text 2"),
        ("pmpt_b", 2, "b2"),
    ]
    assert page.has_more
    rest = await prompts.list_prompts(after="pmpt_b", limit=2, order="desc")
    assert [p.prompt_id for p in rest.prompts] == ["pmpt_a"]
    assert not rest.has_more
    ascending = await prompts.list_prompts(after="pmpt_a", limit=5, order="asc")
    assert [p.prompt_id for p in ascending.prompts] == ["pmpt_b", "pmpt_c"]
    unknown = await prompts.list_prompts(after="pmpt_zzz", limit=5, order="asc")
    assert unknown.prompts == ()
    assert not unknown.has_more


async def test_templates_made_in_one_second_page_in_the_order_they_were_made(prompts: PromptStore) -> None:
    made = [f"pmpt_{c}" for c in "zay"]  # IDs out of order, one `created_at`
    for prompt_id in made:
        await prompts.create_prompt(PromptVersion(prompt_id, 1, "same second", (), NOW))
    newest = await prompts.list_prompts(after=None, limit=2, order="desc")
    assert [p.prompt_id for p in newest.prompts] == made[:0:-1] and newest.has_more
    rest = await prompts.list_prompts(after=made[1], limit=2, order="desc")
    assert [p.prompt_id for p in rest.prompts] == made[:1]
    oldest = await prompts.list_prompts(after=made[0], limit=5, order="asc")
    assert [p.prompt_id for p in oldest.prompts] == made[1:]


async def test_delete_removes_every_version(prompts: PromptStore) -> None:
    await prompts.create_prompt(version("pmpt_a"))
    await prompts.add_version(version("pmpt_a", 2), updates=1, make_default=True)
    assert await prompts.delete_prompt("pmpt_a")
    assert await prompts.get_prompt("pmpt_a", 1) is None
    assert await prompts.list_versions("pmpt_a") is None
    assert not await prompts.delete_prompt("pmpt_a")
    again = await prompts.create_prompt(version("pmpt_a"))  # the ID is free again, at version 1
    assert again.version == 1


async def test_templates_outlive_the_store(open_prompts: Callable[[], Awaitable[Opened]]) -> None:
    first = await open_prompts()
    made = await first.prompts.create_prompt(version("pmpt_a", text="kept {{name}}"), tenant="acme")
    await first.close()
    again = await open_prompts()
    assert await again.prompts.get_prompt("pmpt_a", None, tenant="acme") == made
