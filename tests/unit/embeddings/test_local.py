"""The embedded model: real weights from the wordllama wheel, run in-process off the event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from rejoinder.embeddings.base import Embedder, EmbeddingError
from rejoinder.embeddings.local import LocalEmbedder

T = TypeVar("T")

# (text, a paraphrase of it, something unrelated)
TRIPLES = [
    (
        "The cat sat on the mat.",
        "A kitten was sitting on the rug.",
        "Quarterly revenue rose by twelve percent.",
    ),
    (
        "How do I reset my password?",
        "Steps to recover a forgotten login password",
        "The volcano erupted last night.",
    ),
    (
        "The invoice is due at the end of the month.",
        "Pay the bill by month end.",
        "Penguins live in Antarctica.",
    ),
    (
        "The patient has a high fever.",
        "The sick man's temperature is elevated.",
        "The stock market closed higher.",
    ),
    ("Python is a programming language.", "Guido van Rossum created Python.", "I baked bread this morning."),
]
DOCS = {
    "refunds": "Refunds are issued to the original payment method within 14 days of the return.",
    "shipping": "Orders ship from our warehouse in two business days; express delivery costs extra.",
    "security": "Enable two-factor authentication to protect your account from unauthorized logins.",
    "hiring": "We are hiring backend engineers with experience in distributed systems.",
    "garden": "Tomatoes need full sun, regular watering and support stakes as they grow.",
}
QUESTIONS = {
    "How long until I get my money back after returning an item?": "refunds",
    "When will my package arrive?": "shipping",
    "How can I make my login more secure?": "security",
    "Are there open software jobs?": "hiring",
    "How should I care for tomato plants?": "garden",
}


@pytest.fixture
async def local() -> AsyncIterator[LocalEmbedder]:
    embedder = LocalEmbedder()
    yield embedder
    await embedder.aclose()


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_vectors_are_unit_length_of_the_declared_dimensions(local: LocalEmbedder) -> None:
    typed: Embedder = local
    vectors = await typed.embed(["hello world", "", "a" * 10_000])

    assert typed.model == "wordllama-l2-supercat" and typed.dimensions == 256
    assert [len(v) for v in vectors] == [256, 256, 256]
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-6) for v in vectors)


async def test_the_same_text_gives_the_same_vector_whatever_its_batch(local: LocalEmbedder) -> None:
    alone = await local.embed(["The invoice is due at the end of the month."])
    among = await local.embed(["x" * 5000, "other", "The invoice is due at the end of the month."] * 20)

    assert among[2] == pytest.approx(alone[0], abs=1e-6)
    assert among[-1] == pytest.approx(alone[0], abs=1e-6)


async def test_paraphrases_are_closer_than_unrelated_texts(local: LocalEmbedder) -> None:
    for text, paraphrase, unrelated in TRIPLES:
        a, b, c = await local.embed([text, paraphrase, unrelated])
        assert _cos(a, b) > _cos(a, c) + 0.1, text


async def test_questions_find_their_document(local: LocalEmbedder) -> None:
    names = list(DOCS)
    docs = await local.embed([DOCS[n] for n in names])
    queries = await local.embed(list(QUESTIONS))

    found = [max(names, key=lambda n: _cos(q, docs[names.index(n)])) for q in queries]
    assert found == list(QUESTIONS.values())


async def test_a_shorter_model_is_a_prefix_of_the_full_one(local: LocalEmbedder) -> None:
    small = LocalEmbedder(64)
    try:
        [short] = await small.embed(["Refunds within 14 days"])
        [full] = await local.embed(["Refunds within 14 days"])
    finally:
        await small.aclose()
    norm = math.sqrt(sum(x * x for x in full[:64]))
    assert small.model == "wordllama-l2-supercat-64" and len(short) == 64
    assert short == pytest.approx([x / norm for x in full[:64]], abs=1e-6)


class _Recording(concurrent.futures.ThreadPoolExecutor):
    """A thread pool that remembers the threads its work ran in."""

    def __init__(self) -> None:
        super().__init__(1)
        self.threads: set[int] = set()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        def run() -> T:
            self.threads.add(threading.get_ident())
            return fn(*args, **kwargs)

        return super().submit(run)


async def test_it_runs_in_its_executor_while_the_event_loop_goes_on() -> None:
    executor = _Recording()
    embedder = LocalEmbedder(executor=executor)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        await embedder.embed(["some words to embed, " * 50] * 3000)
    finally:
        ticker.cancel()
        executor.shutdown()
    assert executor.threads and threading.get_ident() not in executor.threads
    assert ticks > 10  # the loop went on while the batches ran


def test_bad_dimensions_are_refused() -> None:
    with pytest.raises(ValueError, match="64, 128 or 256"):
        LocalEmbedder(100)


async def test_missing_model_files_are_an_embedding_error(tmp_path: Path) -> None:
    broken = LocalEmbedder(package_dir=tmp_path)
    try:
        with pytest.raises(EmbeddingError, match="cannot be loaded"):
            await broken.embed(["x"])
    finally:
        await broken.aclose()
