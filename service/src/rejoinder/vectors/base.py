"""What the vector index stores and answers: the `VectorIndex` protocol, with the values it takes and
gives. SQLite (sqlite.py) and PostgreSQL (postgres.py) implement it; one suite tests both
(tests/store/vectors/).

A file's chunks live in one vector store of one tenant, each with its text, position and one embedding
made by one model. Vectors of different models never mix: a search with a query vector of model X
compares it with model-X vectors only (and its keyword half reads model-X chunks only, so both halves
rank the same chunks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from rejoinder.vectors.errors import InvalidParam
from rejoinder.vectors.filters import AttributeValue, Filter

SearchMode = Literal["hybrid", "vector", "keyword"]
MODES: tuple[SearchMode, ...] = ("hybrid", "vector", "keyword")
MAX_NUM_RESULTS = 50
DEFAULT_NUM_RESULTS = 10


@dataclass(frozen=True)
class ChunkRecord:
    """One chunk of a file as ingestion made it: its text, its index in the file, its embedding."""

    text: str
    position: int
    embedding: Sequence[float]


@dataclass(frozen=True)
class FileChunks:
    """All the chunks of one file in one vector store, embedded by `embedding_model`."""

    tenant: str
    vector_store_id: str
    file_id: str
    filename: str
    attributes: Mapping[str, AttributeValue]
    embedding_model: str
    chunks: Sequence[ChunkRecord]


@dataclass(frozen=True)
class Weights:
    """OpenAI's `ranking_options.hybrid_search`: how much each half of a hybrid search counts."""

    embedding_weight: float = 1.0
    text_weight: float = 1.0

    def __post_init__(self) -> None:
        param = "ranking_options.hybrid_search"
        for name, value in (("embedding_weight", self.embedding_weight), ("text_weight", self.text_weight)):
            if not 0 <= value < float("inf"):
                raise InvalidParam(f"{name} must be a number of at least 0", param=f"{param}.{name}")
        if self.embedding_weight + self.text_weight == 0:
            raise InvalidParam("embedding_weight and text_weight cannot both be 0", param=param)


@dataclass(frozen=True)
class Query:
    """One search. `embedding` (a vector of `embedding_model`) is needed by the hybrid and vector modes;
    the keyword mode reads every chunk when `embedding_model` is None, else that model's chunks."""

    text: str
    embedding: Sequence[float] | None = None
    embedding_model: str | None = None
    max_num_results: int = DEFAULT_NUM_RESULTS
    filters: Filter | None = None
    mode: SearchMode = "hybrid"
    score_threshold: float = 0.0
    weights: Weights = field(default_factory=Weights)

    def __post_init__(self) -> None:
        if isinstance(self.max_num_results, bool) or not 1 <= self.max_num_results <= MAX_NUM_RESULTS:
            raise InvalidParam(
                f"max_num_results must be between 1 and {MAX_NUM_RESULTS}, got {self.max_num_results}",
                param="max_num_results",
            )
        if not 0 <= self.score_threshold <= 1:
            raise InvalidParam(
                f"score_threshold must be between 0 and 1, got {self.score_threshold}",
                param="ranking_options.score_threshold",
            )
        if self.mode not in MODES:
            raise InvalidParam(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}", param="mode")
        if self.mode != "keyword" and (self.embedding is None or self.embedding_model is None):
            raise InvalidParam(
                f"a {self.mode} search needs the query's embedding and its model", param="query"
            )
        if self.embedding is not None and len(self.embedding) == 0:
            raise InvalidParam("the query's embedding is empty", param="query")


@dataclass(frozen=True)
class SearchHit:
    """One chunk found: OpenAI's vector store search result, plus where it came from. `score` is 0..1
    (fusion.py says what it means in each mode)."""

    vector_store_id: str
    file_id: str
    filename: str
    score: float
    attributes: Mapping[str, AttributeValue]
    content: str
    position: int


class VectorIndex(Protocol):
    """Chunks of files in vector stores, per tenant, searchable by meaning and by words."""

    async def add_file(self, file: FileChunks) -> None:
        """Store a file's chunks in its vector store, replacing any it had there (re-ingestion)."""
        ...

    async def delete_file(self, tenant: str, vector_store_id: str, file_id: str) -> bool:
        """Remove a file's chunks from one vector store; False when it had none there."""
        ...

    async def delete_store(self, tenant: str, vector_store_id: str) -> int:
        """Remove every chunk of a vector store; how many files it held."""
        ...

    async def update_attributes(
        self, tenant: str, vector_store_id: str, file_id: str, attributes: Mapping[str, AttributeValue]
    ) -> bool:
        """Replace a file's attributes in one vector store; False when the file is not there."""
        ...

    async def search(self, tenant: str, vector_store_ids: Sequence[str], query: Query) -> list[SearchHit]:
        """The best chunks of the tenant's vector stores for the query, best first, at most
        `query.max_num_results`, none scoring under `query.score_threshold`."""
        ...

    async def close(self) -> None: ...
