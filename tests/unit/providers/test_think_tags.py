"""Splitting inline think tags out of streamed text, whatever the chunking."""

from __future__ import annotations

import pytest

from rejoinder.providers.think_tags import (
    CLOSE_TAG,
    OPEN_TAG,
    Segment,
    ThinkTagSplitter,
    partial_tag_length,
    split_think_tags,
)


def reasoning(text: str) -> Segment:
    return Segment("reasoning", text)


def text(text: str) -> Segment:
    return Segment("text", text)


def run(chunks: list[str]) -> list[Segment]:
    """Feed `chunks` in order, then finish; adjacent segments of one kind are joined."""
    splitter = ThinkTagSplitter()
    out: list[Segment] = []
    for chunk in chunks:
        out.extend(splitter.feed(chunk))
    out.extend(splitter.finish())
    joined: list[Segment] = []
    for segment in out:
        assert segment.text, "no empty segment is ever returned"
        if joined and joined[-1].kind == segment.kind:
            joined[-1] = Segment(segment.kind, joined[-1].text + segment.text)
        else:
            joined.append(segment)
    return joined


CASES = [
    pytest.param("Hello world", [text("Hello world")], id="no-tags"),
    pytest.param("", [], id="empty"),
    pytest.param("<think>abc</think>xyz", [reasoning("abc"), text("xyz")], id="basic"),
    pytest.param(
        "\n<think>\nThe user says hi.\n</think>\n\nHello!",
        [reasoning("The user says hi.\n"), text("Hello!")],
        id="r1-whitespace",
    ),
    pytest.param("<think>abc", [reasoning("abc")], id="unclosed"),
    pytest.param("<think>abc</thi", [reasoning("abc</thi")], id="unclosed-partial-close"),
    pytest.param("<think>", [], id="open-only"),
    pytest.param("<thi", [text("<thi")], id="partial-open-only"),
    pytest.param("<thinking>x", [text("<thinking>x")], id="other-tag"),
    pytest.param("<think></think>Hi", [text("Hi")], id="empty-think"),
    pytest.param("Hi <think>x</think> there", [text("Hi <think>x</think> there")], id="not-at-start"),
    pytest.param(
        "<think>a</think>b<think>c</think>",
        [reasoning("a"), text("b<think>c</think>")],
        id="second-block-is-text",
    ),
    pytest.param("<think>a < b </ c</think>ok", [reasoning("a < b </ c"), text("ok")], id="angle-brackets"),
    pytest.param("  \n ", [text("  \n ")], id="only-whitespace"),
    pytest.param(" Hi", [text(" Hi")], id="leading-space-kept-without-tag"),
    pytest.param("<think>é🙂</think>ü", [reasoning("é🙂"), text("ü")], id="non-ascii"),
]


@pytest.mark.parametrize(("whole", "expected"), CASES)
def test_one_chunk(whole: str, expected: list[Segment]) -> None:
    assert run([whole]) == expected
    assert split_think_tags(whole) == expected


@pytest.mark.parametrize(("whole", "expected"), CASES)
def test_every_two_chunk_boundary(whole: str, expected: list[Segment]) -> None:
    for cut in range(len(whole) + 1):
        assert run([whole[:cut], whole[cut:]]) == expected, f"cut at {cut}"


@pytest.mark.parametrize(("whole", "expected"), CASES)
def test_every_three_chunk_boundary(whole: str, expected: list[Segment]) -> None:
    for first in range(len(whole) + 1):
        for second in range(first, len(whole) + 1):
            chunks = [whole[:first], whole[first:second], whole[second:]]
            assert run(chunks) == expected, f"chunks {chunks!r}"


@pytest.mark.parametrize(("whole", "expected"), CASES)
def test_character_by_character(whole: str, expected: list[Segment]) -> None:
    assert run(list(whole)) == expected


def test_tags_split_like_a_tokenizer_would() -> None:
    chunks = ["<thi", "nk>\n", "The user", " says hi.", "\n</th", "ink>\n\n", "Hello", "!"]
    splitter = ThinkTagSplitter()

    per_chunk = [splitter.feed(chunk) for chunk in chunks]

    assert per_chunk == [
        [],
        [],
        [reasoning("The user")],
        [reasoning(" says hi.")],
        [reasoning("\n")],
        [],
        [text("Hello")],
        [text("!")],
    ]
    assert splitter.finish() == []


def test_only_a_possible_tag_prefix_is_held_back() -> None:
    splitter = ThinkTagSplitter()

    assert splitter.feed("<think>abc</") == [reasoning("abc")]
    assert splitter.feed("b>more") == [reasoning("</b>more")]
    assert splitter.feed("</think>x<") == [text("x<")]


def test_text_before_any_tag_is_released_as_soon_as_it_cannot_be_one() -> None:
    splitter = ThinkTagSplitter()

    assert splitter.feed("\n") == []
    assert splitter.feed("<t") == []
    assert splitter.feed("x") == [text("\n<tx")]
    assert splitter.feed("<think>") == [text("<think>")]


def test_finish_is_idempotent() -> None:
    splitter = ThinkTagSplitter()
    splitter.feed("<think>abc</thi")

    assert splitter.finish() == [reasoning("</thi")]
    assert splitter.finish() == []


@pytest.mark.parametrize(
    ("value", "tag", "length"),
    [
        ("abc<", CLOSE_TAG, 1),
        ("abc</thin", CLOSE_TAG, 6),
        ("abc</think", CLOSE_TAG, 7),
        ("abc</think>", CLOSE_TAG, 0),
        ("abc", CLOSE_TAG, 0),
        ("", OPEN_TAG, 0),
        ("<", OPEN_TAG, 1),
        ("x<th", OPEN_TAG, 3),
    ],
)
def test_partial_tag_length(value: str, tag: str, length: int) -> None:
    assert partial_tag_length(value, tag) == length
