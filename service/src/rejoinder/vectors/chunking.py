"""OpenAI's chunking strategies, and the chunks they cut a file's text into.

`static` takes `max_chunk_size_tokens` (100..4096) and `chunk_overlap_tokens` (0..half of the max);
`auto` is static 800/400, as OpenAI documents it. A chunk is a run of whole words (whitespace-separated
pieces) of at most `max_chunk_size_tokens`; the next one starts so that it repeats the last
`chunk_overlap_tokens` or fewer of them. A chunk keeps its position in the file (0, 1, 2... and its
character offsets), and never ends inside a word, except a single "word" longer than a whole chunk
(a base64 blob, a minified line), which is cut at the token estimate's character boundaries.

Tokens are estimated, not counted: no tokenizer can be loaded here (tiktoken downloads its BPE tables at
run time). `estimate_tokens` splits text roughly as cl100k's pre-tokenizer does (letter runs, digit
groups of up to three, runs of punctuation) and charges a letter run one token per 7 letters and a
punctuation run one per 2 marks, rounded up; whitespace is free. Measured against cl100k_base (the
gpt-tokenizer package's tables, offline): on the 40 prose documents of tests/data/retrieval it counts
1.01 times the real total (each document within 13%; tests/data/retrieval/cl100k_counts.json, asserted in
tests/store/vectors/test_chunking.py), and on a Python module, JSON lines and two Markdown files of this
repository 1.01 times (each within 14%). bytes/4 gave 1.16 (within 32%) and 0.91 (within 18%).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from rejoinder.vectors.errors import InvalidParam

MIN_CHUNK_TOKENS = 100
MAX_CHUNK_TOKENS = 4096
AUTO_MAX_CHUNK_TOKENS = 800
AUTO_OVERLAP_TOKENS = 400
LETTERS_PER_TOKEN = 7
MARKS_PER_TOKEN = 2

_PIECE = re.compile(r"\S+")
_PRETOKEN = re.compile(r"[^\W\d_]+|\d{1,3}|[^\w\s]+|_+")


@dataclass(frozen=True)
class ChunkingStrategy:
    """OpenAI's `chunking_strategy`, resolved: `auto` carries the sizes it stands for."""

    type: Literal["auto", "static"]
    max_chunk_size_tokens: int
    chunk_overlap_tokens: int


AUTO = ChunkingStrategy("auto", AUTO_MAX_CHUNK_TOKENS, AUTO_OVERLAP_TOKENS)


@dataclass(frozen=True)
class Chunk:
    """One piece of a file's text: its index in the file, its character offsets, its estimated tokens."""

    position: int
    text: str
    start: int
    end: int
    tokens: int


def parse_chunking_strategy(value: object, param: str = "chunking_strategy") -> ChunkingStrategy:
    """OpenAI's `chunking_strategy` JSON (None or absent: auto); raises `InvalidParam` with the path."""
    if value is None:
        return AUTO
    if not isinstance(value, Mapping):
        raise InvalidParam(f"'{param}' must be an object with a 'type'", param=param)
    kind = value.get("type")
    if kind == "auto":
        return AUTO
    if kind != "static":
        raise InvalidParam(f"'{param}.type' must be 'auto' or 'static', got {kind!r}", param=f"{param}.type")
    static = value.get("static")
    if not isinstance(static, Mapping):
        raise InvalidParam(f"'{param}.static' must be an object", param=f"{param}.static")
    size = _integer(static.get("max_chunk_size_tokens"), f"{param}.static.max_chunk_size_tokens")
    overlap = _integer(static.get("chunk_overlap_tokens"), f"{param}.static.chunk_overlap_tokens")
    return static_strategy(size, overlap, param=f"{param}.static")


def static_strategy(size: int, overlap: int, *, param: str = "chunking_strategy.static") -> ChunkingStrategy:
    """A static strategy, checked as OpenAI checks it."""
    if not MIN_CHUNK_TOKENS <= size <= MAX_CHUNK_TOKENS:
        raise InvalidParam(
            f"max_chunk_size_tokens must be between {MIN_CHUNK_TOKENS} and {MAX_CHUNK_TOKENS}, got {size}",
            param=f"{param}.max_chunk_size_tokens",
        )
    if not 0 <= overlap <= size // 2:
        raise InvalidParam(
            f"chunk_overlap_tokens must be between 0 and half of max_chunk_size_tokens ({size // 2}), "
            f"got {overlap}",
            param=f"{param}.chunk_overlap_tokens",
        )
    return ChunkingStrategy("static", size, overlap)


def _integer(value: object, param: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParam(f"'{param}' must be an integer, got {value!r}", param=param)
    return value


def estimate_tokens(text: str) -> int:
    """About how many cl100k tokens `text` is (see the module docstring)."""
    total = 0
    for match in _PRETOKEN.finditer(text):
        piece = match.group()
        if piece[0].isalpha():
            total += math.ceil(len(piece) / LETTERS_PER_TOKEN)
        elif piece[0].isdigit():
            total += 1
        else:
            total += math.ceil(len(piece) / MARKS_PER_TOKEN)
    return total


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    tokens: int


def _pieces(text: str, most: int) -> Iterator[_Piece]:
    """The whitespace-separated words of `text` with their token estimates; a word over `most` tokens
    comes as several pieces of at most `most` each."""
    for match in _PIECE.finditer(text):
        tokens = estimate_tokens(match.group())
        if tokens <= most:
            yield _Piece(match.start(), match.end(), max(tokens, 1))
            continue
        parts = math.ceil(tokens / most)
        step = math.ceil((match.end() - match.start()) / parts)
        for start in range(match.start(), match.end(), step):
            end = min(start + step, match.end())
            yield _Piece(start, end, max(1, min(most, estimate_tokens(text[start:end]))))


def chunk_text(text: str, strategy: ChunkingStrategy = AUTO) -> list[Chunk]:
    """Cut `text` into overlapping chunks of whole words (none for text that is only whitespace)."""
    size, overlap = strategy.max_chunk_size_tokens, strategy.chunk_overlap_tokens
    pieces = list(_pieces(text, size))
    chunks: list[Chunk] = []
    first = 0
    while first < len(pieces):
        last, tokens = first, pieces[first].tokens
        while last + 1 < len(pieces) and tokens + pieces[last + 1].tokens <= size:
            last += 1
            tokens += pieces[last].tokens
        start, end = pieces[first].start, pieces[last].end
        chunks.append(Chunk(len(chunks), text[start:end], start, end, tokens))
        if last + 1 == len(pieces):
            break
        first = _next_first(pieces, first, last, overlap)
    return chunks


def _next_first(pieces: list[_Piece], first: int, last: int, overlap: int) -> int:
    """Where the next chunk starts: as far back from `last` as `overlap` tokens allow, always past `first`."""
    start, repeated = last + 1, 0
    while start - 1 > first and repeated + pieces[start - 1].tokens <= overlap:
        start -= 1
        repeated += pieces[start].tokens
    return start
