"""One behaviour suite for every store (a `ResponseStore` and a `ConversationStore`).

To add a store, add its opener to `BACKENDS` (and to `PERSISTENT` when its data
outlives `close`); every test then runs against it too.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import asyncpg
import pytest

from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1 import items_pb2 as pb
from rejoinder.responses.v1.content_pb2 import FunctionOutput, MessageContent, OutputContent, OutputText
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.store.base import ChainLink, ItemPage, Order, ResponseStore, Store, StoredConversation
from rejoinder.store.items import item_id
from rejoinder.store.postgres import PostgresStore
from rejoinder.store.postgres_schema import SCHEMA_VERSION as PG_SCHEMA_VERSION
from rejoinder.store.sqlite import MAX_CHAIN_LINKS, SqliteStore
from rejoinder.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from tests.fakes import InMemoryStore
from tests.postgres_server import create_database, drop_database

Opener = Callable[["Place", int], Awaitable[Store]]
StoreOpener = Callable[..., Awaitable[Store]]


@dataclass(frozen=True)
class Place:
    """Where a test's data lives: a directory, and a PostgreSQL database made for the test."""

    tmp_path: Path
    postgres_dsn: str


def _sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "nested" / "rejoinder.db"  # the parent directories do not exist yet


async def _open_inmemory(place: Place, max_chain_links: int) -> Store:
    return InMemoryStore(max_chain_links=max_chain_links)


BACKENDS: dict[str, Opener] = {
    "sqlite-file": lambda at, links: SqliteStore.open(_sqlite_path(at.tmp_path), max_chain_links=links),
    "sqlite-memory": lambda _, links: SqliteStore.open(":memory:", max_chain_links=links),
    "postgres": lambda at, links: PostgresStore.open(at.postgres_dsn, max_chain_links=links),
    "inmemory": _open_inmemory,
}
PERSISTENT = ["sqlite-file", "postgres"]


@pytest.fixture
async def place(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_admin_dsn: str
) -> AsyncIterator[Place]:
    """The test's directory, and a new database when the test runs on PostgreSQL (dropped after)."""
    if "postgres" not in request.node.name:
        yield Place(tmp_path, "")
        return
    dsn = await create_database(postgres_admin_dsn)
    yield Place(tmp_path, dsn)
    await drop_database(postgres_admin_dsn, dsn)


@pytest.fixture(params=list(BACKENDS))
async def open_store(request: pytest.FixtureRequest, place: Place) -> AsyncIterator[StoreOpener]:
    """Opens stores of one backend, all on the same data, and closes them after the test."""
    opened: list[Store] = []

    async def open_one(max_chain_links: int = MAX_CHAIN_LINKS) -> Store:
        opened.append(await BACKENDS[request.param](place, max_chain_links))
        return opened[-1]

    yield open_one
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_store: StoreOpener) -> Store:
    return await open_store()


def msg(id_: str, text: str = "hello") -> InputItem:
    content = MessageContent(text=text)
    return InputItem(message=pb.Message(id=id_, role="user", content=content, status="completed"))


def resp(id_: str, prev: str | None = None, *, status: str = "completed", text: str = "answer") -> Response:
    part = OutputContent(output_text=OutputText(text=text))
    out = pb.OutputMessage(id=f"msg_{id_}", role="assistant", status="completed", content=[part])
    response = Response(id=id_, object="response", created_at=1700000000, model="test-model", status=status)
    response.output.add(message=out)
    if prev is not None:
        response.previous_response_id = prev
    return response


def ids(page: ItemPage | None) -> list[str]:
    assert page is not None
    return [item_id(item) for item in page.items]


def links(chain: tuple[ChainLink, ...] | None) -> list[tuple[str, list[str]]]:
    """Each link's response ID and input item IDs."""
    assert chain is not None
    return [(link.response.id, [item_id(item) for item in link.input_items]) for link in chain]


async def page_of(
    store: ResponseStore,
    response_id: str = "r1",
    *,
    after: str | None = None,
    before: str | None = None,
    limit: int = 10,
    order: Order = "asc",
) -> ItemPage | None:
    return await store.list_input_items(response_id, after=after, before=before, limit=limit, order=order)


class ExplodingItems(Sequence[InputItem]):
    """An input item list that raises when its `explode_at`-th item is read."""

    def __init__(self, items: list[InputItem], explode_at: int) -> None:
        self._items, self._explode_at = items, explode_at

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> InputItem: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[InputItem]: ...
    def __getitem__(self, index: int | slice) -> InputItem | Sequence[InputItem]:
        if isinstance(index, int) and index == self._explode_at:
            raise RuntimeError("boom")
        return self._items[index]


async def test_save_then_get_round_trips(store: ResponseStore) -> None:
    response = resp("r1", text="round trip")
    await store.save(response, [msg("i1")])
    assert await store.get("r1") == response
    assert await store.get("r_missing") is None


async def test_save_twice_replaces_response_but_keeps_first_items(store: ResponseStore) -> None:
    await store.save(resp("r1", status="in_progress"), [msg("i1"), msg("i2")])
    await store.save(resp("r1", status="completed", text="final"), [msg("i_other")])
    assert await store.get("r1") == resp("r1", status="completed", text="final")
    assert ids(await page_of(store)) == ["i1", "i2"]
    await store.save(resp("r2", status="queued"), [])  # no items yet: the next save writes them
    await store.save(resp("r2"), [msg("i3")])
    assert ids(await page_of(store, "r2")) == ["i3"]


async def test_delete(store: ResponseStore) -> None:
    await store.save(resp("r1"), [msg("i1")])
    assert await store.delete("r1") is True
    assert await store.get("r1") is None
    assert await page_of(store) is None
    assert await store.load_chain("r1") is None
    assert await store.delete("r1") is False


async def test_stored_state_is_isolated_from_callers(store: ResponseStore) -> None:
    response, item = resp("r1"), msg("i1", text="original")
    await store.save(response, [item])
    response.status = "failed"
    item.message.content.text = "changed"
    got = await store.get("r1")
    assert got is not None and got.status == "completed"
    got.status = "cancelled"
    page = await page_of(store)
    assert page is not None and page.items[0].message.content.text == "original"
    page.items[0].message.content.text = "changed again"
    assert await store.get("r1") == resp("r1")
    chain = await store.load_chain("r1")
    assert chain is not None and chain[0].input_items[0].message.content.text == "original"


async def _five_items(store: ResponseStore) -> None:
    await store.save(resp("r1"), [msg(f"i{n}") for n in range(1, 6)])


Pages = list[tuple[list[str], bool]]


async def _walk(store: ResponseStore, order: Order, before: str | None) -> Pages:
    """Every page of two, forward with `after` from the start or, given `before`, backward from it."""
    pages: Pages = []
    forward, after = before is None, None
    while True:
        page = await page_of(store, after=after, before=before, limit=2, order=order)
        assert page is not None
        pages.append((ids(page), page.has_more))
        if not page.has_more:
            return pages
        after, before = (item_id(page.items[-1]), None) if forward else (None, item_id(page.items[0]))


@pytest.mark.parametrize(
    ("order", "start_before", "expected"),
    [
        ("asc", None, [(["i1", "i2"], True), (["i3", "i4"], True), (["i5"], False)]),
        ("desc", None, [(["i5", "i4"], True), (["i3", "i2"], True), (["i1"], False)]),
        ("asc", "i5", [(["i3", "i4"], True), (["i1", "i2"], False)]),
        ("desc", "i1", [(["i3", "i2"], True), (["i5", "i4"], False)]),
    ],
)
async def test_walking_all_pages(
    store: ResponseStore, order: Order, start_before: str | None, expected: Pages
) -> None:
    await _five_items(store)
    assert await _walk(store, order, start_before) == expected


@pytest.mark.parametrize(
    ("order", "after", "before", "limit", "expected"),
    [
        ("asc", "i1", "i5", 10, (["i2", "i3", "i4"], False)),
        ("asc", "i1", "i5", 2, (["i2", "i3"], True)),
        ("desc", "i5", "i1", 2, (["i4", "i3"], True)),
        ("desc", "i4", None, 10, (["i3", "i2", "i1"], False)),
        ("asc", "i4", "i2", 10, ([], False)),
        ("asc", None, None, 5, (["i1", "i2", "i3", "i4", "i5"], False)),
        ("asc", "i5", None, 3, ([], False)),
        # A cursor that is not in the list gives an empty page.
        ("asc", "nope", None, 2, ([], False)),
        ("desc", None, "nope", 2, ([], False)),
        ("asc", "i1", "nope", 2, ([], False)),
        ("desc", "nope", "i1", 2, ([], False)),
    ],
)
async def test_list_windows(
    store: ResponseStore,
    order: Order,
    after: str | None,
    before: str | None,
    limit: int,
    expected: tuple[list[str], bool],
) -> None:
    await _five_items(store)
    page = await page_of(store, after=after, before=before, limit=limit, order=order)
    assert page is not None and (ids(page), page.has_more) == expected


async def test_list_edge_cases(store: ResponseStore) -> None:
    await store.save(resp("r_empty"), [])
    assert await page_of(store, "r_empty") == ItemPage(items=(), has_more=False)
    assert await page_of(store, "r_none") is None
    with pytest.raises(ValueError, match="limit"):
        await page_of(store, "r_empty", limit=0)


async def test_every_item_kind_is_stored_and_its_id_is_a_cursor(store: ResponseStore) -> None:
    output = FunctionOutput(text="4")
    items = [
        msg("i1"),
        InputItem(reasoning=pb.ReasoningItem(id="rs_1")),
        InputItem(function_call=pb.FunctionToolCall(id="fc_1", call_id="call_1", name="f", arguments="{}")),
        InputItem(function_call_output=pb.FunctionCallOutput(id="fco_1", call_id="call_1", output=output)),
        InputItem(item_reference=pb.ItemReference(id="i0")),
    ]
    await store.save(resp("r1"), items)
    page = await page_of(store, after="rs_1", before="i0")
    assert page is not None and list(page.items) == items[2:4]
    page = await page_of(store, after="fco_1", order="desc")
    assert page is not None and list(page.items) == [items[2], items[1], items[0]]
    # An ID that occurs twice (a reference to an item of the same list) is found first in the list as ordered.
    items.append(InputItem(item_reference=pb.ItemReference(id="i1")))
    await store.save(resp("r2"), items)
    assert ids(await page_of(store, "r2", after="i1", limit=2)) == ["rs_1", "fc_1"]
    assert ids(await page_of(store, "r2", after="i1", limit=2, order="desc")) == ["i0", "fco_1"]


async def test_items_without_an_id_are_rejected_and_nothing_is_written(store: ResponseStore) -> None:
    with pytest.raises(ValueError, match="position 1"):
        await store.save(resp("r1"), [msg("i1"), msg("")])
    assert await store.get("r1") is None


async def test_a_save_that_fails_midway_leaves_the_previous_state(store: ResponseStore) -> None:
    await store.save(resp("r_old"), [msg("i_old")])
    await store.save(resp("r1", status="in_progress"), [])
    with pytest.raises(RuntimeError, match="boom"):
        await store.save(resp("r_new"), ExplodingItems([msg("i1"), msg("i2"), msg("i3")], 2))
    with pytest.raises(RuntimeError, match="boom"):
        await store.save(resp("r1", status="completed"), ExplodingItems([msg("i1"), msg("i2")], 1))
    assert await store.get("r_new") is None
    assert await store.get("r1") == resp("r1", status="in_progress")
    assert ids(await page_of(store)) == []
    assert await store.get("r_old") == resp("r_old")
    assert ids(await page_of(store, "r_old")) == ["i_old"]


async def _three_deep(store: ResponseStore) -> None:
    await store.save(resp("r1"), [msg("i1a"), msg("i1b")])
    await store.save(resp("r2", "r1"), [msg("i2")])
    await store.save(resp("r3", "r2"), [msg("i3")])


async def test_load_chain_is_oldest_first_with_its_input_items(store: ResponseStore) -> None:
    await _three_deep(store)
    chain = await store.load_chain("r3")
    assert chain is not None
    assert [link.response for link in chain] == [resp("r1"), resp("r2", "r1"), resp("r3", "r2")]
    assert links(chain) == [("r1", ["i1a", "i1b"]), ("r2", ["i2"]), ("r3", ["i3"])]
    assert links(await store.load_chain("r1")) == [("r1", ["i1a", "i1b"])]
    assert await store.load_chain("r_missing") is None


async def test_branches_see_only_their_own_chain(store: ResponseStore) -> None:
    await store.save(resp("r_root"), [msg("i_root")])
    await store.save(resp("r_left", "r_root"), [msg("i_left")])
    await store.save(resp("r_right", "r_root"), [msg("i_right")])
    for branch in ("left", "right"):
        chain = await store.load_chain(f"r_{branch}")
        assert links(chain) == [("r_root", ["i_root"]), (f"r_{branch}", [f"i_{branch}"])]


async def test_load_chain_stops_at_a_deleted_link(store: ResponseStore) -> None:
    await _three_deep(store)
    assert await store.delete("r2") is True
    assert links(await store.load_chain("r3")) == [("r3", ["i3"])]
    assert links(await store.load_chain("r1")) == [("r1", ["i1a", "i1b"])]


async def test_load_chain_survives_a_cycle(store: ResponseStore) -> None:
    await store.save(resp("r_a", "r_b"), [msg("i_a")])
    await store.save(resp("r_b", "r_a"), [msg("i_b")])
    assert links(await store.load_chain("r_a")) == [("r_b", ["i_b"]), ("r_a", ["i_a"])]


async def test_load_chain_keeps_the_newest_links_up_to_the_cap(open_store: StoreOpener) -> None:
    store = await open_store(max_chain_links=3)
    for n in range(1, 6):
        await store.save(resp(f"r{n}", f"r{n - 1}" if n > 1 else None), [msg(f"i{n}")])
    assert links(await store.load_chain("r5")) == [("r3", ["i3"]), ("r4", ["i4"]), ("r5", ["i5"])]


async def test_concurrent_saves_all_land(store: ResponseStore) -> None:
    await asyncio.gather(*(store.save(resp(f"r{n}"), [msg(f"i{n}")]) for n in range(50)))
    got = await asyncio.gather(*(store.get(f"r{n}") for n in range(50)))
    assert got == [resp(f"r{n}") for n in range(50)]
    pages = await asyncio.gather(*(page_of(store, f"r{n}") for n in range(50)))
    assert [ids(page) for page in pages] == [[f"i{n}"] for n in range(50)]


async def test_a_closed_store_refuses_calls(store: ResponseStore) -> None:
    await store.close()
    await store.close()  # closing twice is harmless
    with pytest.raises(RuntimeError, match="closed"):
        await store.save(resp("r1"), [])
    with pytest.raises(RuntimeError, match="closed"):
        await store.get("r1")


@pytest.mark.parametrize("open_store", PERSISTENT, indirect=True)
async def test_data_survives_close_and_reopen(open_store: StoreOpener) -> None:
    first = await open_store()
    await _three_deep(first)
    await first.save(resp("r_gone"), [msg("i_gone")])
    assert await first.delete("r_gone") is True
    await first.close()
    with pytest.raises(RuntimeError):
        await first.save(resp("r_late"), [])
    second = await open_store()
    assert links(await second.load_chain("r3")) == [("r1", ["i1a", "i1b"]), ("r2", ["i2"]), ("r3", ["i3"])]
    assert await second.get("r3") == resp("r3", "r2")
    assert await second.get("r_gone") is None
    assert await second.get("r_late") is None


# SQLite only: a failure inside the transaction, and the file's settings.


async def test_sqlite_rolls_back_a_save_that_fails_inside_the_transaction(tmp_path: Path) -> None:
    path = _sqlite_path(tmp_path)
    store = await SqliteStore.open(path)
    raw = sqlite3.connect(path)
    try:
        await store.save(resp("r1", status="in_progress"), [])
        boom = "BEGIN SELECT RAISE(ABORT, 'boom'); END"  # fails the second insert, after the first ran
        raw.execute(f"CREATE TRIGGER boom BEFORE INSERT ON input_items WHEN NEW.item_id = 'i_boom' {boom}")
        raw.commit()
        with pytest.raises(sqlite3.Error, match="boom"):
            await store.save(resp("r_new"), [msg("i_ok"), msg("i_boom")])
        with pytest.raises(sqlite3.Error, match="boom"):
            await store.save(resp("r1", status="completed"), [msg("i_ok"), msg("i_boom")])
        assert await store.get("r_new") is None
        assert await store.get("r1") == resp("r1", status="in_progress")
        assert raw.execute("SELECT count(*) FROM input_items").fetchone() == (0,)
        await store.save(resp("r_after"), [msg("i_after")])  # the connection is still usable
        assert await store.get("r_after") == resp("r_after")
    finally:
        raw.close()
        await store.close()


async def test_sqlite_file_settings(tmp_path: Path) -> None:
    path = _sqlite_path(tmp_path)
    await (await SqliteStore.open(path)).close()
    await (await SqliteStore.open(path)).close()  # reopening an up-to-date schema changes nothing
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        indexes = {row[1] for row in raw.execute("PRAGMA index_list(responses)")}
        assert {"responses_previous_response_id", "responses_status"} <= indexes
        conversation_indexes = {row[1] for row in raw.execute("PRAGMA index_list(conversation_items)")}
        assert "conversation_items_item_id" in conversation_indexes
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    finally:
        raw.close()
    with pytest.raises(RuntimeError, match="newer"):
        await SqliteStore.open(path)


def event(seq: int, delta: str) -> ResponseStreamEvent:
    text = ev.OutputTextDeltaEvent(item_id="msg_1", output_index=0, content_index=0, delta=delta)
    return ResponseStreamEvent(sequence_number=seq, output_text_delta=text)


async def test_a_stored_responses_events_append_load_after_and_go_with_it(open_store: StoreOpener) -> None:
    store = await open_store()
    await store.save(resp("r1"), [msg("i1")])
    assert await store.load_events("r1") == ()
    first = [event(0, "Hel"), event(1, ""), event(2, "lo \u2028 ünï")]
    await store.append_events("r1", first)
    first[0].sequence_number = 99  # what was kept does not change with the caller's objects
    await store.append_events("r1", [event(3, "!"), event(4, "?")])
    await store.append_events("r1", [event(4, "again")])  # a number kept twice keeps the first
    kept = await store.load_events("r1")
    assert [e.sequence_number for e in kept] == [0, 1, 2, 3, 4]
    assert [e.output_text_delta.delta for e in kept] == ["Hel", "", "lo \u2028 ünï", "!", "?"]
    assert await store.load_events("r1", 2) == kept[3:]
    assert await store.load_events("r1", 4) == ()
    await store.append_events("r_unstored", [event(0, "x")])
    assert await store.load_events("r_unstored") == ()
    assert await store.delete("r1")
    await store.save(resp("r1"), [])
    assert await store.load_events("r1") == ()  # deleting the response deleted its events


async def test_stale_lists_unfinished_runs_not_heard_of_oldest_first(open_store: StoreOpener) -> None:
    store = await open_store()
    for id_, status, created in [
        ("r_done", "completed", 1), ("r_late", "in_progress", 9), ("r_early", "queued", 3),
        ("r_cancelled", "cancelled", 2), ("r_failed", "failed", 4), ("r_beating", "in_progress", 5),
    ]:  # fmt: skip
        response = resp(id_, status=status)
        response.created_at = created
        await store.save(response, [])
    assert await store.heartbeat("replica_a", ["r_beating", "r_missing"], 50_000) == frozenset()
    assert [s.response.id for s in await store.stale(20_000)] == ["r_early", "r_late"]  # created long ago
    assert [s.response.id for s in await store.stale(60_000)] == ["r_early", "r_beating", "r_late"]
    late = resp("r_late", status="completed")
    late.created_at = 9
    await store.save(late, [])  # a save keeps who runs it, and a finished response is never stale
    assert [s.response.id for s in await store.stale(60_000)] == ["r_early", "r_beating"]


async def test_a_cancel_request_reaches_the_runner_at_its_heartbeat(open_store: StoreOpener) -> None:
    store = await open_store()
    for id_ in ("r1", "r2"):
        await store.save(resp(id_, status="in_progress"), [])
    assert await store.heartbeat("replica_a", ["r1", "r2"], 1_000) == frozenset()
    await store.request_cancel("r2")
    await store.request_cancel("r_missing")  # nothing to flag
    await store.save(resp("r2", status="in_progress", text="more"), [])  # saves keep the request
    assert await store.heartbeat("replica_a", ["r1", "r2"], 2_000) == frozenset({"r2"})
    assert await store.stale(1_500) == ()  # both beat at 2,000


@pytest.mark.parametrize("backend", PERSISTENT)
async def test_kept_events_outlive_the_process(backend: str, place: Place) -> None:
    store = await BACKENDS[backend](place, MAX_CHAIN_LINKS)
    await store.save(resp("r1", status="in_progress"), [])
    await store.append_events("r1", [event(0, "a"), event(1, "b")])
    await store.heartbeat("replica_a", ["r1"], 5_000)
    await store.close()
    reopened = await BACKENDS[backend](place, MAX_CHAIN_LINKS)
    try:
        assert await reopened.load_events("r1") == (event(0, "a"), event(1, "b"))
        assert [s.response.id for s in await reopened.stale(5_001)] == ["r1"]
        assert await reopened.stale(5_000) == ()
    finally:
        await reopened.close()


async def test_sqlite_migrates_a_version_1_database_keeping_its_responses(tmp_path: Path) -> None:
    path = _sqlite_path(tmp_path)
    path.parent.mkdir(parents=True)
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in MIGRATIONS[0]:
            raw.execute(statement)
        raw.execute("PRAGMA user_version = 1")
        row = ("r_old", None, 1700000000, "completed", resp("r_old").SerializeToString())
        raw.execute("INSERT INTO responses VALUES (?, ?, ?, ?, ?)", row)
    finally:
        raw.close()
    store = await SqliteStore.open(path)
    try:
        assert await store.get("r_old") == resp("r_old")
        await store.append_events("r_old", [event(0, "kept")])
        assert await store.load_events("r_old") == (event(0, "kept"),)
        assert await store.heartbeat("replica_a", ["r_old"], 1) == frozenset()
        await store.create_conversation(conv("c1"), [msg("i1")])  # migration 2 made the conversations
        assert item_ids(await store.conversation_items("c1")) == ["i1"]
    finally:
        await store.close()


async def test_postgres_replicas_starting_together_migrate_once(postgres_dsn: str) -> None:
    stores = await asyncio.gather(*(PostgresStore.open(postgres_dsn, pool_size=2) for _ in range(4)))
    try:
        await stores[0].save(resp("r1"), [msg("i1")])
        assert [await s.get("r1") for s in stores] == [resp("r1")] * 4  # one shared database
    finally:
        for store in stores:
            await store.close()
    conn = await asyncpg.connect(postgres_dsn)
    try:
        assert await conn.fetchval("SELECT version FROM rejoinder_schema") == PG_SCHEMA_VERSION
        await conn.execute("UPDATE rejoinder_schema SET version = version + 1")
    finally:
        await conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        await PostgresStore.open(postgres_dsn)


async def test_a_tenant_sees_only_its_own_responses(open_store: StoreOpener) -> None:
    store = await open_store()
    await store.save(resp("r1"), [msg("i1")], tenant="acme")
    assert await store.get("r1", tenant="acme") == resp("r1")
    for other in ("", "globex"):
        assert await store.get("r1", tenant=other) is None
        assert (
            await store.list_input_items("r1", after=None, before=None, limit=5, order="asc", tenant=other)
            is None
        )
        assert await store.load_chain("r1", tenant=other) is None
        assert not await store.delete("r1", tenant=other)
    with pytest.raises(ValueError, match="another tenant"):
        await store.save(resp("r1", text="hijacked"), [msg("i_x")], tenant="globex")
    assert await store.get("r1", tenant="acme") == resp("r1")  # untouched
    page = await store.list_input_items("r1", after=None, before=None, limit=5, order="asc", tenant="acme")
    assert ids(page) == ["i1"]
    # A chain never crosses tenants: an ancestor of another tenant ends it.
    await store.save(resp("r2", prev="r1"), [msg("i2")], tenant="globex")
    assert links(await store.load_chain("r2", tenant="globex")) == [("r2", ["i2"])]
    await store.save(resp("r3", prev="r1"), [msg("i3")], tenant="acme")
    assert links(await store.load_chain("r3", tenant="acme")) == [("r1", ["i1"]), ("r3", ["i3"])]
    assert [s.tenant for s in await store.stale(10**15)] == []
    await store.save(resp("r4", status="in_progress"), [], tenant="acme")
    assert [(s.tenant, s.response.id) for s in await store.stale(10**15)] == [("acme", "r4")]
    assert await store.delete("r1", tenant="acme")


# Conversations.


def conv(id_: str, created_at: int = 1700000000, **metadata: str) -> StoredConversation:
    return StoredConversation(id=id_, created_at=created_at, metadata=metadata)


def item_ids(items: Sequence[InputItem] | None) -> list[str]:
    assert items is not None
    return [item_id(item) for item in items]


async def conv_page(
    store: Store,
    conversation_id: str = "c1",
    *,
    after: str | None = None,
    limit: int = 10,
    order: Order = "asc",
    tenant: str = "",
) -> ItemPage | None:
    return await store.list_conversation_items(
        conversation_id, after=after, limit=limit, order=order, tenant=tenant
    )


async def _five_conversation_items(store: Store) -> None:
    """c1 with i1..i5, added in three goes."""
    await store.create_conversation(conv("c1"), [msg("i1"), msg("i2")])
    assert await store.add_conversation_items("c1", [msg("i3")])
    assert await store.add_conversation_items("c1", [msg("i4"), msg("i5")])


async def test_a_conversation_round_trips_with_its_items(store: Store) -> None:
    metadata = {"topic": "demo", "lang": "en"}
    items = [msg("i1", "one"), msg("i2", "two")]
    await store.create_conversation(StoredConversation("c1", 1700000123, metadata), items)
    got = await store.get_conversation("c1")
    assert got == conv("c1", 1700000123, topic="demo", lang="en")
    assert got is not None and list(got.metadata) == ["topic", "lang"]  # the given order
    assert await store.conversation_items("c1") == (msg("i1", "one"), msg("i2", "two"))
    # What is stored does not change with the caller's objects, given or returned.
    metadata["topic"] = "changed"
    items[0].message.content.text = "changed"
    returned = await store.conversation_items("c1")
    assert returned is not None
    returned[1].message.content.text = "changed"
    assert await store.get_conversation("c1") == conv("c1", 1700000123, topic="demo", lang="en")
    assert await store.conversation_items("c1") == (msg("i1", "one"), msg("i2", "two"))
    assert await store.get_conversation("c_missing") is None
    assert await store.conversation_items("c_missing") is None
    await store.create_conversation(conv("c_empty"), [])
    assert await store.get_conversation("c_empty") == conv("c_empty")
    assert await store.conversation_items("c_empty") == ()
    assert await conv_page(store, "c_empty") == ItemPage(items=(), has_more=False)


async def test_creating_a_conversation_whose_id_is_taken_changes_nothing(store: Store) -> None:
    await store.create_conversation(conv("c1", k="v"), [msg("i1")], tenant="acme")
    for tenant in ("acme", "globex"):
        with pytest.raises(ValueError, match="taken"):
            await store.create_conversation(conv("c1", 5, k="other"), [msg("i_x")], tenant=tenant)
    assert await store.get_conversation("c1", tenant="acme") == conv("c1", k="v")
    assert item_ids(await store.conversation_items("c1", tenant="acme")) == ["i1"]
    assert await store.get_conversation("c1", tenant="globex") is None


async def test_another_tenants_conversation_is_missing(store: Store) -> None:
    await store.create_conversation(conv("c1", k="v"), [msg("i1"), msg("i2")], tenant="acme")
    for other in ("", "globex"):
        assert await store.get_conversation("c1", tenant=other) is None
        assert await store.update_conversation("c1", {"k": "hijacked"}, tenant=other) is None
        assert await store.delete_conversation("c1", tenant=other) is False
        assert await store.add_conversation_items("c1", [msg("i_x")], tenant=other) is False
        assert await store.conversation_items("c1", tenant=other) is None
        assert await conv_page(store, tenant=other) is None
        assert await conv_page(store, after="i1", tenant=other) is None
        assert await store.get_conversation_item("c1", "i1", tenant=other) is None
        assert await store.delete_conversation_item("c1", "i1", tenant=other) is False
    assert await store.get_conversation("c1", tenant="acme") == conv("c1", k="v")  # untouched
    assert item_ids(await store.conversation_items("c1", tenant="acme")) == ["i1", "i2"]
    assert ids(await conv_page(store, tenant="acme")) == ["i1", "i2"]
    assert await store.get_conversation_item("c1", "i1", tenant="acme") == msg("i1")


async def test_update_replaces_the_metadata(store: Store) -> None:
    await store.create_conversation(conv("c1", 42, a="1", b="2"), [msg("i1")])
    assert await store.update_conversation("c1", {"c": "3"}) == conv("c1", 42, c="3")
    assert await store.get_conversation("c1") == conv("c1", 42, c="3")
    assert await store.update_conversation("c1", {}) == conv("c1", 42)
    assert await store.get_conversation("c1") == conv("c1", 42)
    assert await store.update_conversation("c_missing", {"c": "3"}) is None
    assert await store.get_conversation("c_missing") is None
    assert item_ids(await store.conversation_items("c1")) == ["i1"]  # the items stay


async def test_deleting_a_conversation_deletes_its_items(store: Store) -> None:
    await store.create_conversation(conv("c1"), [msg("i1"), msg("i2")])
    await store.create_conversation(conv("c2"), [msg("i1")])
    assert await store.delete_conversation("c1") is True
    assert await store.get_conversation("c1") is None
    assert await store.conversation_items("c1") is None
    assert await conv_page(store) is None
    assert await store.get_conversation_item("c1", "i1") is None
    assert await store.delete_conversation("c1") is False
    # A new conversation with the same ID starts with no items.
    await store.create_conversation(conv("c1", 7), [])
    assert await store.get_conversation("c1") == conv("c1", 7)
    assert await store.conversation_items("c1") == ()
    assert await store.get_conversation_item("c1", "i1") is None
    assert await store.delete_conversation_item("c1", "i2") is False
    assert item_ids(await store.conversation_items("c2")) == ["i1"]  # the other conversation stays


async def test_added_items_follow_the_existing_ones_in_order(store: Store) -> None:
    await _five_conversation_items(store)
    assert await store.add_conversation_items("c1", []) is True
    assert await store.add_conversation_items("c1", [msg("i6", "six")]) is True
    assert item_ids(await store.conversation_items("c1")) == ["i1", "i2", "i3", "i4", "i5", "i6"]
    assert await store.get_conversation_item("c1", "i6") == msg("i6", "six")
    assert await store.add_conversation_items("c_missing", [msg("i1")]) is False
    assert await store.add_conversation_items("c_missing", []) is False
    assert await store.get_conversation("c_missing") is None  # nothing was made


async def test_conversation_items_without_an_id_are_rejected_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(ValueError, match="position 1"):
        await store.create_conversation(conv("c1"), [msg("i1"), msg("")])
    assert await store.get_conversation("c1") is None
    with pytest.raises(RuntimeError, match="boom"):
        await store.create_conversation(conv("c1"), ExplodingItems([msg("i1"), msg("i2")], 1))
    assert await store.get_conversation("c1") is None
    await store.create_conversation(conv("c1"), [msg("i1")])
    with pytest.raises(ValueError, match="position 1"):
        await store.add_conversation_items("c1", [msg("i2"), msg(""), msg("i3")])
    with pytest.raises(RuntimeError, match="boom"):
        await store.add_conversation_items("c1", ExplodingItems([msg("i2"), msg("i3")], 1))
    assert item_ids(await store.conversation_items("c1")) == ["i1"]
    with pytest.raises(ValueError, match="no id"):
        await store.create_conversation(conv(""), [])


@pytest.mark.parametrize(
    ("order", "after", "limit", "expected"),
    [
        ("asc", None, 10, (["i1", "i2", "i3", "i4", "i5"], False)),
        ("asc", None, 5, (["i1", "i2", "i3", "i4", "i5"], False)),
        ("asc", None, 2, (["i1", "i2"], True)),
        ("asc", "i2", 2, (["i3", "i4"], True)),
        ("asc", "i3", 2, (["i4", "i5"], False)),
        ("asc", "i5", 2, ([], False)),
        ("desc", None, 2, (["i5", "i4"], True)),
        ("desc", "i4", 10, (["i3", "i2", "i1"], False)),
        ("desc", "i2", 1, (["i1"], False)),
        ("desc", "i1", 3, ([], False)),
        # An item ID that is not in the conversation gives an empty page.
        ("asc", "nope", 2, ([], False)),
        ("desc", "nope", 2, ([], False)),
    ],
)
async def test_conversation_item_pages(
    store: Store, order: Order, after: str | None, limit: int, expected: tuple[list[str], bool]
) -> None:
    await _five_conversation_items(store)
    page = await conv_page(store, after=after, limit=limit, order=order)
    assert page is not None and (ids(page), page.has_more) == expected


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("asc", [(["i1", "i2"], True), (["i3", "i4"], True), (["i5"], False)]),
        ("desc", [(["i5", "i4"], True), (["i3", "i2"], True), (["i1"], False)]),
    ],
)
async def test_walking_all_conversation_pages(store: Store, order: Order, expected: Pages) -> None:
    await _five_conversation_items(store)
    pages: Pages = []
    after: str | None = None
    while True:
        page = await conv_page(store, after=after, limit=2, order=order)
        assert page is not None
        pages.append((ids(page), page.has_more))
        if not page.has_more:
            break
        after = item_id(page.items[-1])
    assert pages == expected


async def test_conversation_page_edge_cases(store: Store) -> None:
    await _five_conversation_items(store)
    assert await conv_page(store, "c_missing") is None
    with pytest.raises(ValueError, match="limit"):
        await conv_page(store, limit=0)


async def test_every_item_kind_is_kept_and_found_by_its_id(store: Store) -> None:
    output = FunctionOutput(text="4")
    items = [
        msg("i1"),
        InputItem(reasoning=pb.ReasoningItem(id="rs_1")),
        InputItem(function_call=pb.FunctionToolCall(id="fc_1", call_id="call_1", name="f", arguments="{}")),
        InputItem(function_call_output=pb.FunctionCallOutput(id="fco_1", call_id="call_1", output=output)),
    ]
    await store.create_conversation(conv("c1"), items[:2])
    assert await store.add_conversation_items("c1", items[2:])
    for item in items:
        assert await store.get_conversation_item("c1", item_id(item)) == item
    assert await store.get_conversation_item("c1", "nope") is None
    assert await store.get_conversation_item("c_missing", "i1") is None
    assert await conv_page(store, after="rs_1", limit=1) == ItemPage(items=(items[2],), has_more=True)


async def test_deleting_an_item_keeps_the_order_of_the_rest(store: Store) -> None:
    await _five_conversation_items(store)
    assert await store.delete_conversation_item("c1", "i3") is True
    assert item_ids(await store.conversation_items("c1")) == ["i1", "i2", "i4", "i5"]
    assert await store.get_conversation_item("c1", "i3") is None
    assert await store.delete_conversation_item("c1", "i3") is False
    assert await store.delete_conversation_item("c_missing", "i1") is False
    assert (ids(page := await conv_page(store, after="i2", limit=1)), page and page.has_more) == (
        ["i4"],
        True,
    )
    assert ids(await conv_page(store, after="i4", order="desc")) == ["i2", "i1"]
    assert ids(await conv_page(store, after="i3")) == []  # no longer in the conversation
    # Deleting the last item, then adding: the new item comes last.
    assert await store.delete_conversation_item("c1", "i5") is True
    assert await store.add_conversation_items("c1", [msg("i6")])
    assert item_ids(await store.conversation_items("c1")) == ["i1", "i2", "i4", "i6"]
    assert await store.delete_conversation_item("c1", "i1") is True
    assert ids(await conv_page(store, order="desc")) == ["i6", "i4", "i2"]


async def test_concurrent_appends_to_one_conversation_all_land_whole(store: Store) -> None:
    await store.create_conversation(conv("c1"), [msg("i0")])
    added = await asyncio.gather(
        *(store.add_conversation_items("c1", [msg(f"a{n}_0"), msg(f"a{n}_1")]) for n in range(20))
    )
    assert added == [True] * 20
    got = item_ids(await store.conversation_items("c1"))
    assert len(got) == 41 and got[0] == "i0"
    assert sorted(got[1:]) == sorted(f"a{n}_{k}" for n in range(20) for k in range(2))
    for n in range(20):  # each append's items stay together, in their order
        assert got.index(f"a{n}_1") == got.index(f"a{n}_0") + 1


@pytest.mark.parametrize("backend", PERSISTENT)
async def test_conversations_outlive_the_process(backend: str, place: Place) -> None:
    store = await BACKENDS[backend](place, MAX_CHAIN_LINKS)
    await store.create_conversation(conv("c1", k="v"), [msg("i1"), msg("i2")], tenant="acme")
    await store.add_conversation_items("c1", [msg("i3"), msg("i4")], tenant="acme")
    await store.delete_conversation_item("c1", "i4", tenant="acme")
    await store.update_conversation("c1", {"k": "w"}, tenant="acme")
    await store.create_conversation(conv("c_gone"), [msg("i1")])
    await store.delete_conversation("c_gone")
    await store.close()
    reopened = await BACKENDS[backend](place, MAX_CHAIN_LINKS)
    try:
        assert await reopened.get_conversation("c1", tenant="acme") == conv("c1", k="w")
        assert await reopened.get_conversation("c1") is None
        assert item_ids(await reopened.conversation_items("c1", tenant="acme")) == ["i1", "i2", "i3"]
        assert await reopened.get_conversation("c_gone") is None
        assert await reopened.add_conversation_items("c1", [msg("i5")], tenant="acme")
        assert ids(await conv_page(reopened, order="desc", tenant="acme")) == ["i5", "i3", "i2", "i1"]
    finally:
        await reopened.close()
