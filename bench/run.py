"""`python -m bench`: what the gateway costs, as one table (see bench/README.md).

Starts the bench upstream and `python -m rejoinder serve` (with Envoy) pinned to their cores, runs
every scenario on the direct, REST-through-Envoy and typed-gRPC paths, prints one table with the
targets of issue 6, writes bench/results/<timestamp>.json, optionally profiles the service with
py-spy, and stops everything it started (also on Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from types import FrameType

import grpc

from bench import profile, scenarios
from bench.procs import (
    BenchError,
    Child,
    CpuProbe,
    children_of,
    start_service,
    start_upstream,
    thread_affinity,
)
from bench.report import render, verdicts_json
from bench.scenarios import Bench, Plan, Results
from bench.targets import Endpoints
from bench.upstream import new_loop_factory

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PARTS: dict[str, Callable[[Bench, Results], Awaitable[None]]] = {
    "nonstream": scenarios.nonstream,
    "stream": scenarios.streaming,
    "idle": scenarios.idle,
    "store": scenarios.store,
}
UVLOOP_SERVICE = "import sys, uvloop; uvloop.install(); from rejoinder.__main__ import main; sys.exit(main())"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description="What the Rejoinder gateway costs.")
    parser.add_argument("--quick", action="store_true", help="short windows: about a minute in all")
    parser.add_argument("--only", nargs="+", choices=sorted(PARTS), help="run only these scenario groups")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip the py-spy profiles")
    parser.add_argument("--profile-seconds", type=float, default=None, help="length of each profile")
    parser.add_argument("--service-core", type=int, default=0, help="core of the service and Envoy")
    parser.add_argument("--load-core", type=int, default=1, help="core of the load generator and upstream")
    parser.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto", help="bench loops")
    parser.add_argument(
        "--service-loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="experiment: run the service on uvloop (default: exactly as `rejoinder serve`)",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--keep-workdir", action="store_true", help="keep logs and the SQLite file")
    return parser


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _envoy_pid(service: Child) -> int:
    for _ in range(50):
        for pid in children_of(service.pid):
            if Path(f"/proc/{pid}/comm").read_text().strip() == "envoy":
                return pid
        time.sleep(0.1)
    raise BenchError("no Envoy child of the service was found")


def _meta(args: argparse.Namespace, pids: dict[str, int]) -> dict[str, object]:
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    ).stdout.strip()
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "commit": commit,
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "cpu": cpu,
        "cores": os.cpu_count(),
        "quick": args.quick,
        "bench_loop": args.loop,
        "service_loop": args.service_loop,
        "pids": pids,
        "affinity": {name: thread_affinity(pid) for name, pid in pids.items()},
    }


async def _scenarios(bench: Bench, args: argparse.Namespace, stem: Path) -> tuple[Results, dict[str, object]]:
    results: Results = {}
    for name in args.only or list(PARTS):
        await PARTS[name](bench, results)
    profiles: dict[str, object] = {}
    py_spy = profile.find_py_spy()
    if args.profile and py_spy is None:
        _log("py-spy not found (pip install py-spy): skipping profiles")
    elif args.profile and py_spy is not None:
        seconds = args.profile_seconds or (4.0 if args.quick else 8.0)
        profiles = await profile.profile_all(bench, py_spy, seconds, stem)
    return results, profiles


def _run_loop(
    coro: Awaitable[tuple[Results, dict[str, object]]], loop: str
) -> tuple[Results, dict[str, object]]:
    async def wrapped() -> tuple[Results, dict[str, object]]:
        return await coro

    with asyncio.Runner(loop_factory=new_loop_factory(loop)) as runner:
        return runner.run(wrapped())


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace, workdir: Path) -> int:
    """Start everything, measure, report; stop everything whatever happens."""
    plan: Plan = scenarios.QUICK if args.quick else scenarios.FULL
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stem = args.results_dir / stamp
    children: list[Child] = []
    try:
        upstream, upstream_port = start_upstream(workdir, frozenset({args.load_core}), args.loop)
        children.append(upstream)
        prefix = ["-c", UVLOOP_SERVICE] if args.service_loop == "uvloop" else None
        url = f"http://127.0.0.1:{upstream_port}/v1"
        service, ports = start_service(url, workdir, frozenset({args.service_core}), prefix)
        children.insert(0, service)
        pids = {
            "svc": service.pid,
            "envoy": _envoy_pid(service),
            "upstream": upstream.pid,
            "loadgen": os.getpid(),
        }
        meta = _meta(args, pids)
        _log(f"pinned: {meta['affinity']}")
        bench = Bench(
            Endpoints(upstream_port, ports.http, ports.grpc),
            CpuProbe(pids),
            plan,
            pids["svc"],
            pids["envoy"],
            _log,
        )
        results, profiles = _run_loop(_scenarios(bench, args, stem), args.loop)
    except KeyboardInterrupt:
        _log("interrupted: stopping everything")
        return 130
    finally:
        for child in children:
            child.stop()
    table, verdicts = render(results, plan)
    doc = {
        "meta": meta,
        "plan": asdict(plan),
        "results": results,
        "targets": verdicts_json(verdicts),
        "profiles": profiles,
        "table": table,
    }
    out = stem.with_suffix(".json")
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(table)
    if profiles:
        print("\n" + profile.render_profiles(profiles))
    passed = sum(v.passed for v in verdicts if v.path == "rest")
    total = sum(1 for v in verdicts if v.path == "rest")
    print(f"\ntargets through Envoy: {passed}/{total} pass; results: {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m bench`."""
    args = _parser().parse_args(argv)
    if max(args.service_core, args.load_core) >= (os.cpu_count() or 1):
        _log(
            f"this machine has {os.cpu_count()} cores: pinning needs cores {args.service_core} and {args.load_core}"
        )
        return 2
    os.sched_setaffinity(0, {args.load_core})
    signal.signal(signal.SIGTERM, _sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="rejoinder-bench-"))
    try:
        return run(args, workdir)
    except BenchError as exc:
        _log(f"bench failed: {exc}")
        return 1
    finally:
        if args.keep_workdir:
            _log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
