"""Mutations of valid-ish JSON bodies: each picks a spot in the tree and breaks it.

Operations: replace a value with a wild one (wrong type, edge number, huge or odd string, deep
nesting), null it, delete a key, add an unknown key, wrap it in an array or object, grow an array,
object or string to an enormous size (bounded by the body budget), or swap a union's `type`.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.fuzz.jsontext import size_hint
from tests.fuzz.values import MAX_BODY_BYTES, Deep, deep_json, odd_text, wild_value

Path = tuple[str | int, ...]
MAX_PATHS = 4000
GROWTH = (2, 20, 128, 129, 1000, 10_000, 10_001, 100_000)
OPS = ("replace", "replace", "null", "delete", "unknown_key", "wrap", "grow", "deep", "retype")


def paths(value: object) -> list[Path]:
    """Every spot in the tree (breadth first, at most MAX_PATHS), the root included."""
    out: list[Path] = [()]
    queue: list[tuple[Path, object]] = [((), value)]
    while queue and len(out) < MAX_PATHS:
        path, node = queue.pop(0)
        children: list[tuple[str | int, object]] = []
        if isinstance(node, dict):
            children = list(node.items())
        elif isinstance(node, list):
            children = list(enumerate(node[:50]))
        for key, child in children:
            out.append((*path, key))
            queue.append(((*path, key), child))
    return out[:MAX_PATHS]


def get(value: object, path: Path) -> object:
    for key in path:
        value = value[key]  # type: ignore[index]
    return value


def put(value: object, path: Path, new: object) -> object:
    """A copy of `value` with `new` at `path` (copy on write along the path only)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: put(value[head], rest, new)}
    assert isinstance(value, list) and isinstance(head, int)
    return [*value[:head], put(value[head], rest, new), *value[head + 1 :]]


def remove(value: object, path: Path) -> object:
    parent = get(value, path[:-1])
    key = path[-1]
    if isinstance(parent, dict):
        return put(value, path[:-1], {k: v for k, v in parent.items() if k != key})
    assert isinstance(parent, list) and isinstance(key, int)
    return put(value, path[:-1], parent[:key] + parent[key + 1 :])


def _grown(draw: st.DrawFn, target: object, budget: int) -> object:
    count = draw(st.sampled_from(GROWTH))
    if isinstance(target, list):
        unit = target or [draw(wild_value())]
        count = max(1, min(count, budget // max(1, size_hint(unit))))
        return (unit * count)[: count * len(unit)]
    if isinstance(target, dict):
        count = min(count, budget // 24)
        return {**target, **{f"k{i}": i for i in range(count)}}
    if isinstance(target, str):
        return (target or "x") * max(1, min(count, budget // max(2, 2 * len(target))))
    return [target] * max(1, min(count, budget // 24))


@st.composite
def mutation(draw: st.DrawFn, value: object) -> object:
    """`value` broken in one spot."""
    spot = draw(st.sampled_from(paths(value)))
    op = draw(st.sampled_from(OPS))
    target = get(value, spot)
    if op == "null":
        return put(value, spot, None)
    if op == "delete" and spot:
        return remove(value, spot)
    if op == "unknown_key" and isinstance(target, dict):
        key = draw(st.one_of(st.sampled_from(("x_unknown", "type", "", "__proto__")), odd_text(12)))
        return put(value, spot, {**target, key: draw(wild_value())})
    if op == "wrap":
        return put(value, spot, [target] if draw(st.booleans()) else {"v": target})
    if op == "grow":
        budget = MAX_BODY_BYTES - size_hint(value) - 4096
        return put(value, spot, _grown(draw, target, max(budget, 0)))
    if op == "deep":
        return put(value, spot, draw(deep_json()))
    if op == "retype" and isinstance(target, dict):
        new_type = draw(st.one_of(st.sampled_from(_WIRE_TYPES), odd_text(12), wild_value()))
        return put(value, spot, {**target, "type": new_type})
    return put(value, spot, draw(wild_value()))


# Every `type` string an OpenAI request might carry, so a retyped object lands in another case.
_WIRE_TYPES = (
    "message", "function_call", "function_call_output", "reasoning", "item_reference", "mcp_list_tools",
    "mcp_call", "mcp_approval_request", "mcp_approval_response", "input_text", "input_image",
    "input_file", "output_text", "refusal", "function", "mcp", "custom", "file_search", "web_search",
    "json_schema", "json_object", "text", "allowed_tools", "summary_text", "reasoning_text",
    "url_citation", "file_citation", "computer_use_preview", "local_shell", "shell",
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[object], max_mutations: int = 3) -> object:
    """A body from `base` with 0 to `max_mutations` mutations (0 most often: valid-ish bodies)."""
    value = draw(base)
    count = draw(st.sampled_from((0, 0, 0, *range(1, max_mutations + 1))))
    for _ in range(count):
        value = draw(mutation(value))
    return value


def make_safe(value: object, safe_url: str, allowed: frozenset[str]) -> object:
    """Every string that looks like a URL and is not one of ours now points where nothing listens:
    the service fetches `file_url`s and connects to MCP servers, and a fuzz run stays on this host."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if value not in allowed and ("://" in lowered or lowered.startswith(("http", "//", "ws"))):
            return safe_url
        return value
    if isinstance(value, dict):
        return {k: make_safe(v, safe_url, allowed) for k, v in value.items()}
    if isinstance(value, list):
        return [make_safe(v, safe_url, allowed) for v in value]
    if isinstance(value, Deep):
        return value
    return value
