"""Retrieval quality of the vector index: recall@5 on the labelled corpus of tests/data/retrieval.

The corpus is 40 short documents written for these tests (varied topics; some fictional, with rare names
and part or error codes) and 44 questions, each labelled with the document that answers it, of three
kinds: `keyword` (a rare name or code from the document), `mixed` (an ordinary question sharing some
words with its document) and `paraphrase` (no content word in common with its document). A question
counts as recalled when one of the top 5 hits (chunks) belongs to a labelled document.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rejoinder.embeddings.base import Embedder
from rejoinder.vectors.base import ChunkRecord, FileChunks, Query, SearchMode, VectorIndex
from rejoinder.vectors.chunking import AUTO, ChunkingStrategy, chunk_text

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "retrieval"
K = 5
TENANT = "bench"
STORE = "vs_retrieval"
KINDS = ("keyword", "mixed", "paraphrase")
MODES: tuple[SearchMode, ...] = ("vector", "keyword", "hybrid")


@dataclass(frozen=True)
class Question:
    id: str
    kind: str
    text: str
    answers: frozenset[str]


def documents(corpus: Path = CORPUS) -> dict[str, str]:
    """Document name (file stem) -> text."""
    return {path.stem: path.read_text() for path in sorted((corpus / "docs").glob("*.md"))}


def questions(corpus: Path = CORPUS) -> list[Question]:
    found = []
    for line in (corpus / "questions.jsonl").read_text().splitlines():
        raw = json.loads(line)
        found.append(Question(raw["id"], raw["kind"], raw["question"], frozenset(raw["answers"])))
    return found


async def ingest(
    index: VectorIndex, embedder: Embedder, docs: dict[str, str], strategy: ChunkingStrategy = AUTO
) -> int:
    """Chunk, embed and add every document (file id = its name); how many chunks."""
    total = 0
    for name, text in docs.items():
        chunks = chunk_text(text, strategy)
        vectors = await embedder.embed([chunk.text for chunk in chunks])
        records = [ChunkRecord(c.text, c.position, v) for c, v in zip(chunks, vectors, strict=True)]
        await index.add_file(FileChunks(TENANT, STORE, name, f"{name}.md", {}, embedder.model, records))
        total += len(records)
    return total


async def recall(
    index: VectorIndex, embedder: Embedder, asked: Sequence[Question], mode: SearchMode
) -> dict[str, float]:
    """recall@5 of one mode, per question kind and over all ("all")."""
    vectors = await embedder.embed([q.text for q in asked])
    hit: dict[str, list[bool]] = {kind: [] for kind in (*KINDS, "all")}
    for question, vector in zip(asked, vectors, strict=True):
        query = Query(question.text, vector, embedder.model, max_num_results=K, mode=mode)
        found = {h.file_id for h in await index.search(TENANT, [STORE], query)}
        ok = bool(found & question.answers)
        hit[question.kind].append(ok)
        hit["all"].append(ok)
    return {kind: sum(oks) / len(oks) for kind, oks in hit.items() if oks}


async def evaluate(index: VectorIndex, embedder: Embedder) -> dict[str, dict[str, float]]:
    """Ingest the corpus into `index` and measure recall@5 of every mode: mode -> kind -> recall."""
    await ingest(index, embedder, documents())
    asked = questions()
    return {mode: await recall(index, embedder, asked, mode) for mode in MODES}
