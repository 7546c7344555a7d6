"""What every `VectorIndex` does, run on SQLite (file and memory) and PostgreSQL with pgvector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from rejoinder.vectors.base import ChunkRecord, FileChunks, Query, SearchHit, VectorIndex, Weights
from rejoinder.vectors.errors import InvalidParam
from rejoinder.vectors.filters import AttributeValue, parse_filters
from tests.store.vectors.conftest import SHARED, IndexOpener

MODEL = "test-embed"
EAST, NORTH, WEST, UP = (
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0],
    [-1.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
)


def file(
    file_id: str,
    chunks: Sequence[tuple[str, Sequence[float]]],
    *,
    store: str = "vs_a",
    tenant: str = "t1",
    attributes: Mapping[str, AttributeValue] | None = None,
    model: str = MODEL,
) -> FileChunks:
    records = [ChunkRecord(text, i, vector) for i, (text, vector) in enumerate(chunks)]
    return FileChunks(tenant, store, file_id, f"{file_id}.txt", attributes or {}, model, records)


def query(text: str, vector: Sequence[float] | None = EAST, **options: object) -> Query:
    model = options.pop("model", MODEL)
    return Query(text, vector, model if vector is not None else None, **options)  # type: ignore[arg-type]


def files_of(hits: list[SearchHit]) -> list[str]:
    return [hit.file_id for hit in hits]


async def test_search_returns_the_chunks_with_their_file_best_first(index: VectorIndex) -> None:
    await index.add_file(
        file(
            "f1",
            [("Zebras graze on the savanna", EAST), ("Glaciers carve valleys", NORTH)],
            attributes={"a": 1},
        )
    )
    await index.add_file(file("f2", [("A zebra has stripes", [0.8, 0.6, 0, 0])]))
    hits = await index.search("t1", ["vs_a"], query("zebra stripes"))
    assert [(h.file_id, h.position) for h in hits][:2] in ([("f2", 0), ("f1", 0)], [("f1", 0), ("f2", 0)])
    first = next(h for h in hits if h.file_id == "f1")
    assert first == SearchHit("vs_a", "f1", "f1.txt", first.score, {"a": 1}, "Zebras graze on the savanna", 0)
    assert all(0 <= h.score <= 1 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[-1].content == "Glaciers carve valleys"  # found by the vector half alone, ranked last


async def test_tenants_and_stores_are_isolated(index: VectorIndex) -> None:
    await index.add_file(file("f1", [("shared words here", EAST)], tenant="t1"))
    await index.add_file(file("f2", [("shared words here", EAST)], tenant="t2"))
    await index.add_file(file("f3", [("shared words here", EAST)], store="vs_b"))
    assert files_of(await index.search("t1", ["vs_a"], query("shared"))) == ["f1"]
    assert files_of(await index.search("t2", ["vs_a"], query("shared"))) == ["f2"]
    assert sorted(files_of(await index.search("t1", ["vs_a", "vs_b"], query("shared")))) == ["f1", "f3"]
    assert await index.search("t3", ["vs_a"], query("shared")) == []
    assert await index.search("t1", ["vs_none"], query("shared")) == []


async def test_deleting_a_file_removes_its_hits(index: VectorIndex) -> None:
    await index.add_file(file("f1", [("kept text about otters", EAST)]))
    await index.add_file(file("f2", [("deleted text about otters", EAST), ("more of it", NORTH)]))
    await index.search("t1", ["vs_a"], query("otters"))  # warm any cache first
    assert await index.delete_file("t1", "vs_a", "f2") is True
    assert await index.delete_file("t1", "vs_a", "f2") is False
    assert await index.delete_file("t2", "vs_a", "f1") is False  # another tenant's file is not there
    for mode in ("hybrid", "vector", "keyword"):
        assert files_of(await index.search("t1", ["vs_a"], query("otters", mode=mode))) == ["f1"]


async def test_deleting_a_store_removes_all_its_files(index: VectorIndex) -> None:
    await index.add_file(file("f1", [("alpha", EAST)]))
    await index.add_file(file("f2", [("alpha", EAST)]))
    await index.add_file(file("f3", [("alpha", EAST)], store="vs_b"))
    assert await index.delete_store("t1", "vs_a") == 2
    assert await index.search("t1", ["vs_a"], query("alpha")) == []
    assert files_of(await index.search("t1", ["vs_a", "vs_b"], query("alpha"))) == ["f3"]
    assert await index.delete_store("t1", "vs_a") == 0


async def test_adding_a_file_again_replaces_its_chunks(index: VectorIndex) -> None:
    await index.add_file(file("f1", [("old wording", EAST), ("old second", NORTH)]))
    await index.search("t1", ["vs_a"], query("old"))
    await index.add_file(file("f1", [("new wording", WEST)], attributes={"v": 2}))
    hits = await index.search("t1", ["vs_a"], query("wording", mode="vector"))
    assert [(h.content, h.attributes) for h in hits] == [("new wording", {"v": 2})]
    assert await index.search("t1", ["vs_a"], query("old", None, mode="keyword")) == []


FILES: dict[str, dict[str, AttributeValue]] = {
    "ann2020": {"author": "ann", "year": 2020, "draft": False},
    "bob2021": {"author": "bob", "year": 2021, "draft": True},
    "cy2019": {"author": "cy", "year": 2019, "draft": False, "region": "eu"},
    "bare": {},
}
FILTERS: list[tuple[dict[str, object], set[str]]] = [
    ({"type": "eq", "key": "author", "value": "ann"}, {"ann2020"}),
    ({"type": "ne", "key": "author", "value": "ann"}, {"bob2021", "cy2019", "bare"}),
    ({"type": "gt", "key": "year", "value": 2020}, {"bob2021"}),
    ({"type": "gte", "key": "year", "value": 2020}, {"ann2020", "bob2021"}),
    ({"type": "lt", "key": "year", "value": 2020.5}, {"ann2020", "cy2019"}),
    ({"type": "lte", "key": "year", "value": 2019}, {"cy2019"}),
    ({"type": "in", "key": "author", "value": ["bob", "cy", "dan"]}, {"bob2021", "cy2019"}),
    ({"type": "nin", "key": "author", "value": ["bob", "cy"]}, {"ann2020", "bare"}),
    ({"type": "eq", "key": "draft", "value": True}, {"bob2021"}),
    ({"type": "eq", "key": "year", "value": "2020"}, set()),  # a string never equals a number
    (
        {
            "type": "and",
            "filters": [
                {"type": "eq", "key": "draft", "value": False},
                {"type": "gte", "key": "year", "value": 2019},
            ],
        },
        {"ann2020", "cy2019"},
    ),
    (
        {
            "type": "or",
            "filters": [
                {"type": "eq", "key": "region", "value": "eu"},
                {
                    "type": "and",
                    "filters": [
                        {"type": "eq", "key": "author", "value": "bob"},
                        {"type": "in", "key": "year", "value": [2021, 2022]},
                    ],
                },
            ],
        },
        {"cy2019", "bob2021"},
    ),
]


@pytest.mark.parametrize(("raw", "expected"), FILTERS, ids=[str(i) for i in range(len(FILTERS))])
async def test_filters_keep_the_matching_files_in_every_mode(
    index: VectorIndex, raw: dict[str, object], expected: set[str]
) -> None:
    for file_id, attributes in FILES.items():
        await index.add_file(file(file_id, [(f"report {file_id}", EAST)], attributes=attributes))
    flt = parse_filters(raw)
    for mode in ("hybrid", "vector", "keyword"):
        hits = await index.search("t1", ["vs_a"], query("report", filters=flt, mode=mode, max_num_results=50))
        assert set(files_of(hits)) == expected, mode


async def test_updated_attributes_change_what_a_filter_keeps(index: VectorIndex) -> None:
    await index.add_file(file("f1", [("quarterly numbers", EAST)], attributes={"status": "draft"}))
    final = parse_filters({"type": "eq", "key": "status", "value": "final"})
    assert await index.search("t1", ["vs_a"], query("numbers", filters=final)) == []
    assert await index.update_attributes("t1", "vs_a", "f1", {"status": "final"}) is True
    hits = await index.search("t1", ["vs_a"], query("numbers", filters=final))
    assert [(h.file_id, h.attributes) for h in hits] == [("f1", {"status": "final"})]
    assert await index.update_attributes("t1", "vs_a", "missing", {"status": "final"}) is False
    assert await index.update_attributes("t2", "vs_a", "f1", {"status": "final"}) is False


async def test_modes_use_their_half(index: VectorIndex) -> None:
    await index.add_file(file("words", [("the part number is QX7-204 for the gasket", NORTH)]))
    await index.add_file(file("meaning", [("nothing in common lexically", EAST)]))
    keyword = await index.search("t1", ["vs_a"], query("QX7 gasket", mode="keyword"))
    assert files_of(keyword) == ["words"]
    assert keyword[0].score == 1.0
    vector = await index.search("t1", ["vs_a"], query("QX7 gasket", EAST, mode="vector"))
    assert files_of(vector) == ["meaning", "words"]
    assert vector[0].score == pytest.approx(1.0, abs=1e-6)
    assert vector[1].score == pytest.approx(0.0, abs=1e-6)  # orthogonal
    hybrid = await index.search("t1", ["vs_a"], query("QX7 gasket", EAST))
    # words: first by keyword, second by vector; meaning: first by vector, and missing from the keyword
    # list of one, so counted second there: a tie, which goes to the older chunk
    assert files_of(hybrid) == ["words", "meaning"]
    assert [h.score for h in hybrid] == pytest.approx([(1 / 61 + 1 / 62) / (2 / 61)] * 2)
    assert await index.search("t1", ["vs_a"], query("zzzz unknown", mode="keyword")) == []


async def test_score_threshold_drops_weaker_hits(index: VectorIndex) -> None:
    await index.add_file(file("close", [("apples and pears", [0.95, 0.31, 0, 0])]))
    await index.add_file(file("far", [("apples only", [0.5, 0.87, 0, 0])]))
    vector = await index.search("t1", ["vs_a"], query("apples", mode="vector", score_threshold=0.9))
    assert files_of(vector) == ["close"]
    both_first = await index.search("t1", ["vs_a"], query("apples pears", score_threshold=0.99))
    assert files_of(both_first) == ["close"]  # first in both halves: score 1.0
    assert both_first[0].score == pytest.approx(1.0)
    assert await index.search("t1", ["vs_a"], query("nothing", mode="vector", score_threshold=1.0)) == []


async def test_weights_decide_which_half_leads(index: VectorIndex) -> None:
    # by_vector: first by vector, second by words; by_words: the other way round
    await index.add_file(
        file("by_vector", [("a long note that mentions a lighthouse once among others", EAST)])
    )
    await index.add_file(file("by_words", [("lighthouse keeper lighthouse", UP)]))
    vector_led = await index.search("t1", ["vs_a"], query("lighthouse", weights=Weights(3.0, 1.0)))
    assert files_of(vector_led) == ["by_vector", "by_words"]
    assert [h.score for h in vector_led] == pytest.approx(
        [(3 / 61 + 1 / 62) / (4 / 61), (3 / 62 + 1 / 61) / (4 / 61)]
    )
    text_led = await index.search("t1", ["vs_a"], query("lighthouse", weights=Weights(1.0, 3.0)))
    assert files_of(text_led) == ["by_words", "by_vector"]
    text_only = await index.search("t1", ["vs_a"], query("keeper", weights=Weights(0.0, 1.0)))
    assert files_of(text_only) == ["by_words"]  # the vector half's finds count for nothing


async def test_vectors_of_different_models_never_mix(index: VectorIndex) -> None:
    await index.add_file(file("m1", [("ocean tides", EAST)], model="model-one"))
    await index.add_file(file("m2", [("ocean tides", EAST)], model="model-two"))
    for mode in ("hybrid", "vector"):
        hits = await index.search("t1", ["vs_a"], query("ocean", model="model-one", mode=mode))
        assert files_of(hits) == ["m1"], mode
    keyword_any = await index.search("t1", ["vs_a"], query("ocean", None, mode="keyword"))
    assert sorted(files_of(keyword_any)) == ["m1", "m2"]


async def test_dimension_mismatches_are_refused(index: VectorIndex) -> None:
    await index.add_file(file("f1", [("four dims", EAST)]))
    with pytest.raises(InvalidParam) as caught:
        await index.search("t1", ["vs_a"], query("dims", [1.0, 0.0, 0.0]))
    assert caught.value.param == "query"
    with pytest.raises(ValueError, match="differ in size"):
        await index.add_file(file("f2", [("three dims", [1.0, 0.0, 0.0])]))
    assert files_of(await index.search("t1", ["vs_a"], query("dims", mode="vector"))) == ["f1"]


async def test_max_num_results_caps_the_hits(index: VectorIndex) -> None:
    chunks = [(f"common word {i}", [1.0, i / 100, 0, 0]) for i in range(30)]
    await index.add_file(file("many", chunks))
    hits = await index.search("t1", ["vs_a"], query("common", max_num_results=7))
    assert len(hits) == 7
    assert [h.position for h in hits][:3] == [0, 1, 2]


async def test_another_index_on_the_same_data_sees_every_change(
    open_index: IndexOpener, backend: str
) -> None:
    if backend not in SHARED:
        return  # ":memory:" is one connection's own database
    writer, reader = await open_index(), await open_index()
    await writer.add_file(file("f1", [("beacon one", EAST)]))
    assert files_of(await reader.search("t1", ["vs_a"], query("beacon", mode="vector"))) == ["f1"]
    await writer.add_file(file("f2", [("beacon two", EAST)]))
    assert sorted(files_of(await reader.search("t1", ["vs_a"], query("beacon", mode="vector")))) == [
        "f1",
        "f2",
    ]
    await writer.delete_file("t1", "vs_a", "f1")
    await writer.add_file(file("f3", [("beacon three", NORTH)]))
    assert files_of(await reader.search("t1", ["vs_a"], query("beacon", mode="vector"))) == ["f2", "f3"]


async def test_a_closed_index_refuses_calls(open_index: IndexOpener) -> None:
    index = await open_index()
    await index.close()
    with pytest.raises(RuntimeError, match="closed"):
        await index.search("t1", ["vs_a"], query("x"))


async def test_degenerate_queries_find_nothing_or_score_zero(index: VectorIndex) -> None:
    await index.add_file(file("f1", [("first", EAST), ("second", NORTH)]))
    assert await index.search("t1", [], query("first")) == []
    zero = await index.search("t1", ["vs_a"], query("nothing here", [0.0, 0.0, 0.0, 0.0], mode="vector"))
    assert [(h.position, h.score) for h in zero] == [(0, 0.0), (1, 0.0)]  # similar to nothing, oldest first
    only_stop_words = await index.search("t1", ["vs_a"], query("the and of", None, mode="keyword"))
    assert only_stop_words == []
