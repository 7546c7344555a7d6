"""How a search ranks and scores chunks, the same on every store.

Each store finds two candidate lists among the chunks a search may see (tenant, vector stores, filter,
embedding model), each at most `DEPTH` long:
- **vector**: by cosine similarity of the chunk's embedding to the query's (exact: every vector is
  compared, no approximate index), best first;
- **keyword**: the chunks that contain any of the query's words (`query_terms`), best first by the
  store's full-text rank: SQLite FTS5's bm25 (porter stemmer), PostgreSQL's ts_rank_cd (english
  configuration, stemmed, stop words dropped).

The score of a chunk, always within 0..1:
- mode **vector**: its cosine similarity, negatives as 0. An absolute measure: a threshold of 0.5 keeps
  the chunks whose embedding points within 60 degrees of the query's.
- mode **hybrid**: weighted reciprocal rank fusion (RRF) with k = 60. A chunk at rank r_e (1-based) of
  the vector list and r_t of the keyword list scores `w_e / (60 + r_e) + w_t / (60 + r_t)`, a list it
  is missing from adding nothing, with w_e, w_t OpenAI's `ranking_options.hybrid_search`
  `embedding_weight` and `text_weight` (default 1 and 1). Divided by the best possible sum,
  `(w_e + w_t) / 61`, it is 1.0 for a chunk first in both lists; with equal weights, first in one list
  and absent from the other is 0.5, tenth in both 0.86. It measures agreement of rank, not absolute
  relevance, so a threshold means "ranked high by both halves", the same way on both stores.
- mode **keyword**: the same fusion with the keyword list alone (1.0 for the first, 61/(60 + r) after).

Chunks with a fused score of 0 (found only by a half whose weight is 0) are dropped. Ties go to the
older chunk (lower id: ingestion order), so both stores order equal scores alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rejoinder.vectors.base import SearchMode, Weights

RRF_K = 60
DEPTH = 100  # candidates each half contributes
MAX_QUERY_TERMS = 64

_WORD = re.compile(r"[^\W_]+")


def query_terms(text: str) -> list[str]:
    """The query's distinct words (letters and digits), lower case, in order, at most `MAX_QUERY_TERMS`."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        seen.setdefault(word, None)
        if len(seen) == MAX_QUERY_TERMS:
            break
    return list(seen)


def fuse(
    mode: SearchMode, vector: Sequence[tuple[int, float]], keyword: Sequence[int], weights: Weights
) -> list[tuple[int, float]]:
    """(chunk id, score) best first, from the vector list (id, cosine; best first) and the keyword list
    (ids, best first)."""
    if mode == "vector":
        scored = {chunk: min(1.0, max(0.0, similarity)) for chunk, similarity in vector}
    else:
        w_e, w_t = (0.0, 1.0) if mode == "keyword" else (weights.embedding_weight, weights.text_weight)
        best = (w_e + w_t) / (RRF_K + 1)
        sums: dict[int, float] = {}
        for rank, (chunk, _) in enumerate(vector, start=1):
            sums[chunk] = sums.get(chunk, 0.0) + w_e / (RRF_K + rank)
        for rank, chunk in enumerate(keyword, start=1):
            sums[chunk] = sums.get(chunk, 0.0) + w_t / (RRF_K + rank)
        scored = {chunk: min(1.0, total / best) for chunk, total in sums.items() if total > 0}
    return sorted(scored.items(), key=lambda pair: (-pair[1], pair[0]))


def top(fused: Sequence[tuple[int, float]], most: int, threshold: float) -> list[tuple[int, float]]:
    """The first `most` of the fused list that score at least `threshold`."""
    return [pair for pair in fused if pair[1] >= threshold][:most]
