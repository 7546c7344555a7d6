"""Two builds of the service side by side on one core, measured in interleaved windows: `python -m bench.ab`.

On this VM the CPU time of the same work drifts by 10-40% over tens of seconds, so two full runs of
`python -m bench` cannot show a change of 5%. Here both builds run at once (each with its own Envoy,
both pinned to the service core, the bench upstream and the load generator on the other), and every
round measures each of them one right after the other (the order alternating), so a drift weighs on
both alike. Per round and build: service + Envoy CPU per non-stream REST request, service CPU per
typed `Create`, and the first text delta (p50) and service CPU per delta of a 512-token stream over REST
and gRPC. The
per-round ratios B/A say whether a change is real: a ratio whose rounds all fall on one side of 1.

    python -m bench.ab                      # HEAD (A) against the working tree (B), 8 rounds
    python -m bench.ab --a REV --b REV2     # two commits
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import LoopSpec, closed_loop
from bench.procs import Child, CpuProbe, envoy_pid, service_env, start_service, start_upstream
from bench.scenarios import loop_metrics
from bench.targets import Endpoints, Shape

ROOT = Path(__file__).resolve().parent.parent
WORKTREE = "worktree"
NONSTREAM = Shape(tokens=16, stream=False)
STREAM = Shape(tokens=512, stream=True)
FIGURES = ("rest_cpu_us", "grpc_cpu_us", "rest_ttft_ms", "grpc_ttft_ms", "rest_delta_us", "grpc_delta_us")


@dataclass
class Build:
    """One running build: its label, where it listens, what measures its CPU, and its figures."""

    label: str
    endpoints: Endpoints
    probe: CpuProbe
    figures: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in FIGURES})


async def _window(build: Build, path: str, shape: Shape, seconds: float) -> dict[str, float | None]:
    target = build.endpoints.target(path, shape)
    try:
        result = await closed_loop(target, LoopSpec(1, 0.2, seconds, 100_000), build.probe)
    finally:
        await target.aclose()
    if result.errors:
        raise RuntimeError(f"{build.label} {path}: {result.errors} errors, first: {result.first_error}")
    return loop_metrics(result)  # type: ignore[return-value]


async def _round(build: Build, seconds: float) -> None:
    rest = await _window(build, "rest", NONSTREAM, seconds)
    grpc = await _window(build, "grpc", NONSTREAM, seconds * 0.6)
    rest_stream = await _window(build, "rest", STREAM, seconds * 0.6)
    grpc_stream = await _window(build, "grpc", STREAM, seconds * 0.6)
    got = build.figures
    got["rest_cpu_us"].append(1000 * (_num(rest["svc_cpu_ms_per_req"]) + _num(rest["envoy_cpu_ms_per_req"])))
    got["grpc_cpu_us"].append(1000 * _num(grpc["svc_cpu_ms_per_req"]))
    got["rest_ttft_ms"].append(_num(rest_stream["ttft_p50_ms"]))
    got["grpc_ttft_ms"].append(_num(grpc_stream["ttft_p50_ms"]))
    got["rest_delta_us"].append(_num(rest_stream["svc_cpu_us_per_delta"]))
    got["grpc_delta_us"].append(_num(grpc_stream["svc_cpu_us_per_delta"]))


def _num(value: object) -> float:
    assert isinstance(value, int | float), value
    return float(value)


Figures = Mapping[str, Sequence[float]]


def summary(a: Figures, b: Figures) -> dict[str, dict[str, float]]:
    """Per figure: the median of A and of B, and the median, lowest and highest per-round ratio B/A."""
    out = {}
    for name in FIGURES:
        ratios = [y / x for x, y in zip(a[name], b[name], strict=True) if x]
        out[name] = {
            "a": statistics.median(a[name]),
            "b": statistics.median(b[name]),
            "ratio": statistics.median(ratios),
            "ratio_low": min(ratios),
            "ratio_high": max(ratios),
        }
    return out


async def _measure(args: argparse.Namespace, root: Path) -> dict[str, dict[str, float]]:
    children: list[Child] = []
    try:
        upstream, port = start_upstream(root, frozenset({args.load_core}), "asyncio")
        children.append(upstream)
        os.sched_setaffinity(0, {args.load_core})
        builds = []
        for label, rev in (("A", args.a), ("B", args.b)):
            workdir = root / label
            workdir.mkdir()
            url = f"http://127.0.0.1:{port}/v1"
            cpus = frozenset({args.service_core})
            env = service_env(None if rev == WORKTREE else rev, workdir)
            service, ports = start_service(url, workdir, cpus, None, env, ("--metrics-port", "0"))
            children.insert(0, service)
            pids = {"svc": service.pid, "envoy": envoy_pid(service), "upstream": upstream.pid}
            cores = {"service_core": args.service_core, "load_core": args.load_core}
            probe = CpuProbe({**pids, "loadgen": os.getpid()}, cores)
            builds.append(Build(f"{label} ({rev})", Endpoints(port, ports.http, ports.grpc), probe))
        for build in builds:  # warm both, and fail early on a build that does not answer
            await _round(build, 0.3)
            build.figures = {name: [] for name in FIGURES}
        for n in range(args.rounds):
            for build in builds if n % 2 == 0 else builds[::-1]:
                await _round(build, args.seconds)
            print(f"round {n + 1}/{args.rounds}: " + " | ".join(_line(b) for b in builds), flush=True)
        return summary(builds[0].figures, builds[1].figures)
    finally:
        for child in children:
            child.stop()


def _line(build: Build) -> str:
    f = build.figures
    return (
        f"{build.label} REST {f['rest_cpu_us'][-1]:.0f} us, gRPC {f['grpc_cpu_us'][-1]:.0f} us, first delta "
        f"{f['rest_ttft_ms'][-1]:.2f} / {f['grpc_ttft_ms'][-1]:.2f} ms"
    )


def render(table: Mapping[str, Mapping[str, float]], a: str, b: str) -> str:
    names = {
        "rest_cpu_us": "service+Envoy CPU us per REST create",
        "grpc_cpu_us": "service CPU us per gRPC Create",
        "rest_ttft_ms": "first delta p50 ms, 512 tok, REST",
        "grpc_ttft_ms": "first delta p50 ms, 512 tok, gRPC",
        "rest_delta_us": "service CPU us per delta, 512 tok, REST",
        "grpc_delta_us": "service CPU us per delta, 512 tok, gRPC",
    }
    lines = [f"{'figure':40} {'A':>9} {'B':>9}  B/A (rounds: low-high)", f"A = {a}, B = {b}"]
    for name, row in table.items():
        lines.append(
            f"{names[name]:40} {row['a']:9.2f} {row['b']:9.2f}  {row['ratio']:.3f} "
            f"({row['ratio_low']:.3f}-{row['ratio_high']:.3f})"
        )
    return "\n".join(lines)


def builds_and_cores(parser: argparse.ArgumentParser) -> None:
    """The options of a comparison of two builds: `--a`, `--b` and the two cores."""
    parser.add_argument("--a", default="HEAD", help="build A: a git revision (default HEAD)")
    parser.add_argument("--b", default=WORKTREE, help=f"build B: a git revision, or {WORKTREE!r} (default)")
    parser.add_argument("--service-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n\n")[0])
    builds_and_cores(parser)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=1.0, help="the REST non-stream window; others 0.6x")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rejoinder-ab-") as tmp:
        table = asyncio.run(_measure(args, Path(tmp)))
    print(render(table, args.a, args.b))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = args.results_dir / f"{stamp}-ab.json"
    out.write_text(json.dumps({"a": args.a, "b": args.b, "rounds": args.rounds, "figures": table}, indent=1))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
