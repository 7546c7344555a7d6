"""`python -m bench.file_search`: what file search's index costs and how well it finds.

For each store (SQLite in a temporary file; PostgreSQL with pgvector, a throwaway server of the tests'
kind unless `--postgres-dsn` names one):

1. **Retrieval quality**: the labelled corpus of tests/data/retrieval (bench/file_search_quality.py)
   ingested with the `auto` chunking strategy and embedded by `--embedder` (`local`: the embedded
   default, rejoinder.embeddings.local; `standin`: the tests' deterministic trigram-hash stand-in);
   recall@5 of the vector, keyword and hybrid modes, per question kind.
2. **Ingestion**: `--chunks` synthetic chunks (text drawn from the corpus's words, ~100 words each;
   random unit vectors of the embedder's dimensions) added as files of 100 chunks: index chunks/s
   (chunking and embedding not included). The embedder's own throughput on 1,000 such chunks is
   measured once, beside it.
3. **Search latency** on that store: `--queries` searches per mode (query text of 1-6 corpus words, a
   random unit query vector, max_num_results 10): p50 and p99 of `VectorIndex.search`, the first search
   (which on SQLite reads the store's vectors into memory) timed apart.

Prints a table and writes bench/results/<UTC timestamp>-file_search.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from bench import file_search_quality as quality
from rejoinder.embeddings.base import Embedder
from rejoinder.vectors.base import ChunkRecord, FileChunks, Query, SearchMode, VectorIndex
from rejoinder.vectors.postgres import PostgresVectorIndex
from rejoinder.vectors.sqlite import SqliteVectorIndex
from tests.postgres_server import PostgresServer, create_database
from tests.store.vectors.standin import TrigramHashEmbedder

RESULTS_DIR = Path(__file__).resolve().parent / "results"
FILE_CHUNKS = 100
WORDS_PER_CHUNK = 100
EMBED_SAMPLE = 1000


def _local() -> Embedder:
    from rejoinder.embeddings.local import LocalEmbedder  # only when asked for

    return LocalEmbedder(256)


EMBEDDERS: dict[str, Callable[[], Embedder]] = {"local": _local, "standin": TrigramHashEmbedder}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.file_search", description=__doc__.split("\n")[0])
    parser.add_argument("--embedder", choices=sorted(EMBEDDERS), default="local")
    parser.add_argument("--stores", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--chunks", type=int, default=20_000, help="synthetic chunks: ingestion, latency")
    parser.add_argument("--queries", type=int, default=200, help="searches per mode")
    parser.add_argument("--postgres-dsn", help="a server to create databases on (default: a throwaway one)")
    parser.add_argument("--seed", type=int, default=7)
    return parser


def _unit(rng: random.Random, dims: int) -> list[float]:
    vector = [rng.gauss(0, 1) for _ in range(dims)]
    norm = sum(x * x for x in vector) ** 0.5
    return [x / norm for x in vector]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def ingestion(index: VectorIndex, words: list[str], dims: int, chunks: int, seed: int) -> float:
    """Add `chunks` synthetic chunks in files of `FILE_CHUNKS`; index chunks per second."""
    rng = random.Random(seed)
    elapsed = 0.0
    for number in range(0, chunks, FILE_CHUNKS):
        records = [
            ChunkRecord(" ".join(rng.choices(words, k=WORDS_PER_CHUNK)), i, _unit(rng, dims))
            for i in range(min(FILE_CHUNKS, chunks - number))
        ]
        name = f"file-{number:07d}"
        file = FileChunks("bench", "vs_load", name, f"{name}.txt", {"n": number}, "load", records)
        started = time.perf_counter()
        await index.add_file(file)
        elapsed += time.perf_counter() - started
    return chunks / elapsed


async def latency(
    index: VectorIndex, words: list[str], dims: int, queries: int, seed: int
) -> dict[str, dict[str, float]]:
    """Per mode: the first search's time and p50/p99 of the next `queries` (milliseconds)."""
    rng = random.Random(seed + 1)
    found: dict[str, dict[str, float]] = {}
    modes: tuple[SearchMode, ...] = ("vector", "keyword", "hybrid")
    for mode in modes:
        times = []
        for _ in range(queries + 1):
            text = " ".join(rng.choices(words, k=rng.randint(1, 6)))
            query = Query(text, _unit(rng, dims), "load", max_num_results=10, mode=mode)
            started = time.perf_counter()
            await index.search("bench", ["vs_load"], query)
            times.append((time.perf_counter() - started) * 1000)
        found[mode] = {
            "first_ms": times[0],
            "p50_ms": statistics.median(times[1:]),
            "p99_ms": _percentile(times[1:], 0.99),
        }
    return found


async def embedder_rate(embedder: Embedder, words: list[str], seed: int) -> float:
    rng = random.Random(seed + 2)
    texts = [" ".join(rng.choices(words, k=WORDS_PER_CHUNK)) for _ in range(EMBED_SAMPLE)]
    started = time.perf_counter()
    await embedder.embed(texts)
    return EMBED_SAMPLE / (time.perf_counter() - started)


@asynccontextmanager
async def opened(store: str, place: Path, dsn: str) -> AsyncIterator[VectorIndex]:
    index: VectorIndex
    if store == "sqlite":
        index = await SqliteVectorIndex.open(place / f"{time.monotonic_ns()}.db")
    else:
        index = await PostgresVectorIndex.open(await create_database(dsn))
    try:
        yield index
    finally:
        await index.close()


async def run(args: argparse.Namespace, dsn: str) -> dict[str, object]:
    embedder = EMBEDDERS[args.embedder]()
    words = re.findall(r"[^\W_]+", " ".join(quality.documents().values()).lower())
    results: dict[str, object] = {
        "embedder": embedder.model,
        "dimensions": embedder.dimensions,
        "chunks": args.chunks,
        "queries_per_mode": args.queries,
        "embedder_chunks_per_s": await embedder_rate(embedder, words, args.seed),
    }
    with tempfile.TemporaryDirectory(prefix="rejoinder-file-search-") as tmp:
        for store in args.stores:
            async with opened(store, Path(tmp), dsn) as index:
                recall = await quality.evaluate(index, embedder)
            async with opened(store, Path(tmp), dsn) as index:
                rate = await ingestion(index, words, embedder.dimensions, args.chunks, args.seed)
                times = await latency(index, words, embedder.dimensions, args.queries, args.seed)
            results[store] = {"recall_at_5": recall, "ingest_chunks_per_s": rate, "search": times}
    return results


def render(results: dict[str, object], stores: list[str]) -> str:
    lines = [
        f"embedder {results['embedder']} ({results['dimensions']} dims): "
        f"{results['embedder_chunks_per_s']:,.0f} chunks/s of ~{WORDS_PER_CHUNK} words",
        "",
        "recall@5           " + "  ".join(f"{s:>8} {k:<10}" for s in stores for k in (*quality.KINDS, "all")),
    ]
    for mode in quality.MODES:
        cells = []
        for store in stores:
            recall = results[store]["recall_at_5"][mode]  # type: ignore[index]
            cells += [f"{'':>8} {recall[kind]:<10.2f}" for kind in (*quality.KINDS, "all")]
        lines.append(f"  {mode:<16} " + "  ".join(cells))
    lines += ["", f"at {results['chunks']:,} chunks        " + "  ".join(f"{s:>28}" for s in stores)]
    rates = "  ".join(f"{results[s]['ingest_chunks_per_s']:>28,.0f}" for s in stores)  # type: ignore[index]
    lines.append(f"  ingest chunks/s  {rates}")
    for mode in quality.MODES:
        cells = []
        for store in stores:
            t = results[store]["search"][mode]  # type: ignore[index]
            cells.append(f"{t['p50_ms']:>8.2f} / {t['p99_ms']:>7.2f} (1st {t['first_ms']:>6.1f})")
        lines.append(f"  {mode:<7} p50/p99 ms " + "  ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    server = None
    dsn = args.postgres_dsn or ""
    if "postgres" in args.stores and not dsn:
        server = PostgresServer()
        dsn = server.start()
    try:
        results = asyncio.run(run(args, dsn))
    finally:
        if server is not None:
            server.stop()
    print(render(results, args.stores))
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = RESULTS_DIR / f"{stamp}-file_search.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
