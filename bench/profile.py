"""Sampling profiles of the service process under load, with py-spy, summarized into hot spots.

Profiles run *after* the measured scenarios (py-spy pauses the process to sample it, which would
skew the figures). Each one records collapsed stacks (`--format raw`, which speedscope.app and
flamegraph.pl read) while the load generator drives one scenario, then ranks functions by self
samples (the frame on top of the stack) and by inclusive samples (anywhere on the stack).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.load import LoopSpec, closed_loop
from bench.scenarios import Bench
from bench.targets import Shape

_LINE = re.compile(r":\d+\)$")
_PREFIXES = (
    str(Path(sys.prefix) / "lib"),
    "/work/main/service/src/",
    "/root/.pyenv/versions/",
)


@dataclass(frozen=True)
class ProfileRun:
    """One profiled scenario."""

    name: str
    path: str
    shape: Shape


RUNS = (
    ProfileRun("nonstream_c1_rest", "rest", Shape(tokens=16, stream=False)),
    ProfileRun("nonstream_c1_grpc", "grpc", Shape(tokens=16, stream=False)),
    ProfileRun("stream_512_rest", "rest", Shape(tokens=512, stream=True)),
    ProfileRun("stream_512_grpc", "grpc", Shape(tokens=512, stream=True)),
)


def find_py_spy() -> str | None:
    """py-spy next to this interpreter, or on PATH."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def _frame(raw: str) -> str:
    """`func (path/to/file.py:12)` -> `func (file path, shortened)`, without the line."""
    frame = _LINE.sub(")", raw.strip())
    for prefix in _PREFIXES:
        frame = frame.replace(prefix, "")
    return re.sub(r"python3\.\d+/(site-packages/)?", "", frame)


# Where a sample's time goes, by the innermost Python frame's file (C work done by an extension,
# e.g. upb or orjson, counts for the Python function that called it). First match wins.
COMPONENTS = (
    ("codec (rejoinder/wire)", ("rejoinder/wire/",)),
    ("core (rejoinder/core)", ("rejoinder/core/",)),
    ("servicers (rejoinder/api)", ("rejoinder/api/",)),
    ("provider adapter (rejoinder/providers)", ("rejoinder/providers/",)),
    ("store (rejoinder/store)", ("rejoinder/store/", "sqlite3/")),
    ("httpx/httpcore/anyio/h11", ("httpx/", "httpcore/", "anyio/", "sniffio/", "h11/")),
    ("grpc (Python part)", ("grpc/", "grpc_")),
    ("protobuf (Python part)", ("google/protobuf/",)),
)
LOOP = "event loop + C callbacks (grpc Cython, task steps)"
# Helpers that count for their caller: asyncio called from anyio is anyio's cost.
_GENERIC = ("asyncio/", "contextlib.py", "<frozen abc>", "<string>", "enum.py", "typing.py", "functools.py")
_LOOP_FRAMES = ("Handle._run", "BaseEventLoop._run_once", "selectors.py")
_SKIP_INCLUSIVE = ("asyncio/", "selectors.py", "<frozen runpy>", "threading.py", "rejoinder/__main__.py")


def _component(frames: list[str]) -> str:
    """The innermost known component on the stack; stdlib helpers count for their caller."""
    other = False
    for frame in reversed(frames):
        if ".py" not in frame and "<" not in frame:
            continue  # a native frame (with --native): keep walking up to Python
        if any(f in frame for f in _LOOP_FRAMES):
            break
        for name, needles in COMPONENTS:
            if any(n in frame for n in needles):
                return name
        other = other or not any(g in frame for g in _GENERIC)
    return "other Python" if other else LOOP


def summarize(stacks: Iterable[str], top: int = 15) -> dict[str, object]:
    """Self, inclusive and per-component sample shares in collapsed-stack lines."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    components: Counter[str] = Counter()
    total = 0
    for line in stacks:
        stack, _, count_text = line.rstrip().rpartition(" ")
        frames = [_frame(f) for f in stack.split(";") if f]
        if not frames or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        own[frames[-1]] += count
        components[_component(frames)] += count
        for frame in set(frames):
            if not any(skip in frame for skip in _SKIP_INCLUSIVE):
                inclusive[frame] += count

    def ranked(counter: Counter[str], limit: int) -> list[dict[str, object]]:
        return [
            {"function": f, "samples": n, "pct": round(100 * n / max(total, 1), 1)}
            for f, n in counter.most_common(limit)
        ]

    return {
        "samples": total,
        "components": ranked(components, len(COMPONENTS) + 2),
        "self": ranked(own, top),
        "inclusive": ranked(inclusive, top),
    }


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


async def _record(
    py_spy: str, pid: int, seconds: float, out: Path, native: bool
) -> asyncio.subprocess.Process:
    # --gil: only the thread holding the GIL, i.e. Python work (idle threads blocked in C would
    # otherwise show as busy); --native: C frames too (protobuf/upb, grpc's Cython, orjson).
    argv = [py_spy, "record", "--pid", str(pid), "--rate", "200", "--gil", "--duration", str(int(seconds))]
    argv += ["--format", "raw", "--output", str(out), *(["--native"] if native else [])]
    return await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )


@dataclass(frozen=True)
class ProfileOptions:
    """Where py-spy is, how long each profile runs, whether to sample C frames."""

    py_spy: str
    seconds: float
    native: bool = False


async def profile_one(bench: Bench, opts: ProfileOptions, run: ProfileRun, out: Path) -> dict[str, object]:
    """Record `run` for `opts.seconds` and summarize it."""
    seconds = opts.seconds
    recorder = await _record(opts.py_spy, bench.svc_pid, seconds, out, opts.native)
    target = bench.endpoints.target(run.path, run.shape)
    spec = LoopSpec(concurrency=1, warmup_s=0.3, duration_s=seconds + 1.0, max_requests=10**6)
    try:
        await closed_loop(target, spec, bench.probe)
    finally:
        await target.aclose()
    _, err = await asyncio.wait_for(recorder.communicate(), timeout=seconds + 30)
    text = await asyncio.to_thread(_read, out)
    if recorder.returncode != 0 or text is None:
        return {"error": f"py-spy exited {recorder.returncode}: {err.decode(errors='replace')[-400:]}"}
    summary = summarize(text.splitlines())
    summary["file"] = str(out)
    return summary


async def profile_all(bench: Bench, opts: ProfileOptions, stem: Path) -> dict[str, object]:
    """Every profiled run; files are `<stem>-<run>.txt`."""
    found: dict[str, object] = {}
    for run in RUNS:
        bench.log(f"profiling {run.name} for {opts.seconds:.0f} s (py-spy)")
        out = stem.with_name(f"{stem.name}-{run.name}.txt")
        found[run.name] = await profile_one(bench, opts, run, out)
    return found


def render_profiles(profiles: dict[str, object], top: int = 8) -> str:
    """The top self-time functions of each profile, as text."""
    lines: list[str] = []
    for name, summary in profiles.items():
        if not isinstance(summary, dict) or "self" not in summary:
            lines.append(f"{name}: {summary}")
            continue
        lines.append(f"{name}: {summary['samples']} samples (GIL held); by component:")
        lines += [f"  {e['pct']:5.1f}%  {e['function']}" for e in summary["components"]]
        lines.append("  top self time:")
        lines += [f"  {e['pct']:5.1f}%  {e['function']}" for e in summary["self"][:top]]
    return "\n".join(lines)
