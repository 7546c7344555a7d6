"""How a search ranks and scores chunks, the same on every store.

Each store finds two candidate lists among the chunks a search may see (tenant, vector stores, filter,
embedding model), each at most `DEPTH` long:
- **vector**: by cosine similarity of the chunk's embedding to the query's (exact: every vector is
  compared, no approximate index), best first;
- **keyword**: the chunks that contain any of the query's words (`query_terms`), best first by the
  store's full-text rank: SQLite FTS5's bm25, PostgreSQL's ts_rank_cd.

The score of a chunk, always within 0..1:
- mode **vector**: its cosine similarity, negatives as 0. An absolute measure: a threshold of 0.5 keeps
  the chunks whose embedding points within 60 degrees of the query's.
- mode **hybrid**: weighted reciprocal rank fusion (RRF) with k = 60. A chunk at rank r_e (1-based) of
  the vector list and r_t of the keyword list scores `w_e / (60 + r_e) + w_t / (60 + r_t)`, with w_e,
  w_t OpenAI's `ranking_options.hybrid_search` `embedding_weight` and `text_weight` (default 1 and 1).
  A chunk missing from a list counts as ranked just after that list's last entry (plain RRF counts it
  as nothing, which lets any chunk that merely shares a word with the query outrank the vector half's
  best when the keyword list is short: measured on tests/data/retrieval with the local model, hybrid
  recall@5 on paraphrased questions is 0.22 with plain RRF and 0.83 with this rule, 0.68 and 0.93 over
  all questions, on both stores). Divided by the best
  possible sum, `(w_e + w_t) / 61`, the score is 1.0 for a chunk first in both lists (or first in one
  and the other empty); with equal weights, tenth in both is 0.86. It measures agreement of rank, not
  absolute relevance, so a threshold means "ranked high by both halves", the same way on both stores.
  Only chunks found by a half whose weight is above 0 are scored.
- mode **keyword**: the same fusion with the keyword list alone (1.0 for the first, 61/(60 + r) after).

The keyword half's query is the query's words less English stop words (`STOP_WORDS`), OR-ed; both
stores index every word, stemmed alike (FTS5's porter, PostgreSQL's snowball english without its stop
word list). Ties go to the older chunk (lower id: ingestion order), so both stores order equal scores
alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rejoinder.vectors.base import SearchMode, Weights

RRF_K = 60
DEPTH = 100  # candidates each half contributes
MAX_QUERY_TERMS = 64

_WORD = re.compile(r"[^\W_]+")
# Words too common to say what a text is about: left out of the keyword half's query (they would make it
# match nearly every chunk, at a cost that grows with the store, for no gain in rank).
_STOP_WORDS = """
    a about after all also am an and any are as at be been before being but by can could did do does
    doing done for from had has have having he her here hers him his how i if in into is it its itself
    just me more most my no nor not of off on once only or other our ours out over own same she should
    so some such than that the their theirs them then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you your yours
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())


def query_terms(text: str) -> list[str]:
    """The query's distinct words (letters and digits) but English stop words, lower case, in order, at
    most `MAX_QUERY_TERMS`."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if word in STOP_WORDS:
            continue
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
        halves = [(w_e, [chunk for chunk, _ in vector]), (w_t, list(keyword))]
        ranks = [
            (weight, {chunk: rank for rank, chunk in enumerate(ids, 1)}, len(ids)) for weight, ids in halves
        ]
        found = {chunk for weight, ids in halves if weight > 0 for chunk in ids}
        best = (w_e + w_t) / (RRF_K + 1)
        scored = {
            chunk: min(1.0, sum(w / (RRF_K + r.get(chunk, n + 1)) for w, r, n in ranks) / best)
            for chunk in found
        }
    return sorted(scored.items(), key=lambda pair: (-pair[1], pair[0]))


def top(fused: Sequence[tuple[int, float]], most: int, threshold: float) -> list[tuple[int, float]]:
    """The first `most` of the fused list that score at least `threshold`."""
    return [pair for pair in fused if pair[1] >= threshold][:most]
