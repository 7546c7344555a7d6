"""Splitting inline `<think>...</think>` reasoning out of streamed text. Pure; no I/O.

Some servers leave a reasoning model's chain of thought in the visible content, wrapped in think tags
(llama.cpp with `--reasoning-format none` or an unrecognized chat template). `ThinkTagSplitter` takes
that content chunk by chunk and returns reasoning and text segments, whatever the chunking: a tag may
arrive split across chunks ("<thi" + "nk>"), so a possible tag prefix at the end of a chunk is held
back until the next chunk (or `finish()`) decides it.

Like llama.cpp's own reasoning parser, a think block is recognized only at the start of the answer
(after optional whitespace), once: a `<think>` further on is the model talking about tags, i.e. text.
Whitespace right after `<think>` and right after `</think>` is dropped, so neither the reasoning nor
the answer opens with the blank lines R1-style models put there. An unclosed block at the end is all
reasoning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SegmentKind = Literal["reasoning", "text"]
_State = Literal["start", "think", "text"]

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


@dataclass(frozen=True)
class Segment:
    """A run of reasoning or of visible text."""

    kind: SegmentKind
    text: str


def partial_tag_length(text: str, tag: str) -> int:
    """The length of the longest proper prefix of `tag` that `text` ends with (0 if none)."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class ThinkTagSplitter:
    """A streaming state machine: text chunks in, reasoning and text segments out, in order."""

    def __init__(self) -> None:
        self._state: _State = "start"
        self._pending = ""
        self._skip_space = False

    def feed(self, chunk: str) -> list[Segment]:
        """The segments `chunk` completes; a possible partial tag is held back."""
        out: list[Segment] = []
        buffer = self._pending + chunk
        self._pending = ""
        while buffer:
            buffer = self._step(buffer, out)
        return _merged(out)

    def finish(self) -> list[Segment]:
        """The held-back rest at the end of the stream: text before any tag, reasoning inside one."""
        rest, self._pending = self._pending, ""
        if not rest or self._state == "text":
            return []
        kind: SegmentKind = "text" if self._state == "start" else "reasoning"
        self._state = "text"
        return [Segment(kind, rest)]

    def _step(self, buffer: str, out: list[Segment]) -> str:
        """Consume a prefix of `buffer`, appending segments; returns what is left to consume."""
        if self._skip_space:
            buffer = buffer.lstrip()
            self._skip_space = not buffer
            if not buffer:
                return ""
        if self._state == "start":
            return self._at_start(buffer)
        if self._state == "think":
            return self._in_think(buffer, out)
        out.append(Segment("text", buffer))
        return ""

    def _at_start(self, buffer: str) -> str:
        body = buffer.lstrip()
        if body.startswith(OPEN_TAG):
            self._state, self._skip_space = "think", True
            return body[len(OPEN_TAG) :]
        if OPEN_TAG.startswith(body):
            self._pending = buffer  # only whitespace, or a prefix of the tag: undecided yet
            return ""
        self._state = "text"
        return buffer

    def _in_think(self, buffer: str, out: list[Segment]) -> str:
        end = buffer.find(CLOSE_TAG)
        if end >= 0:
            if end:
                out.append(Segment("reasoning", buffer[:end]))
            self._state, self._skip_space = "text", True
            return buffer[end + len(CLOSE_TAG) :]
        held = partial_tag_length(buffer, CLOSE_TAG)
        if held < len(buffer):
            out.append(Segment("reasoning", buffer[: len(buffer) - held]))
        self._pending = buffer[len(buffer) - held :]
        return ""


def _merged(segments: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for segment in segments:
        if out and out[-1].kind == segment.kind:
            out[-1] = Segment(segment.kind, out[-1].text + segment.text)
        else:
            out.append(segment)
    return out


def split_think_tags(text: str) -> list[Segment]:
    """A whole (non-streamed) content string split at once."""
    splitter = ThinkTagSplitter()
    return _merged([*splitter.feed(text), *splitter.finish()])
