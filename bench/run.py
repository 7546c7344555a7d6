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

from bench import beside_big, profile, scenarios
from bench.procs import (
    BenchError,
    Child,
    CpuProbe,
    children_of,
    machine_busy_pct,
    start_service,
    start_upstream,
    thread_affinity,
)
from bench.report import contention, render, verdicts_json
from bench.scenarios import CONTENDED_PCT, Bench, Plan, Results
from bench.targets import Endpoints
from bench.upstream import new_loop_factory
from tests.postgres_server import PostgresServer

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# In this order; `idle` (and the profiles) run last: 1,000 streams, most of them abandoned while
# queued, can leave the service degraded (see the "capacity after" row).
PARTS: dict[str, Callable[[Bench, Results], Awaitable[None]]] = {
    "nonstream": scenarios.nonstream,
    "stream": scenarios.streaming,
    "store": scenarios.store,
    "beside_big": beside_big.beside_big,
    "idle": scenarios.idle,
}
UVLOOP_SETUP = "import uvloop; uvloop.install()"
SERVICE_MAIN = "import sys; from rejoinder.__main__ import main; sys.exit(main())"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description="What the Rejoinder gateway costs.")
    parser.add_argument("--quick", action="store_true", help="short windows: about a minute in all")
    parser.add_argument("--only", nargs="+", choices=sorted(PARTS), help="run only these scenario groups")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip the py-spy profiles")
    parser.add_argument("--profile-seconds", type=float, default=None, help="length of each profile")
    parser.add_argument("--profile-native", action="store_true", help="profiles include C frames")
    parser.add_argument("--service-core", type=int, default=0, help="core of the service and Envoy")
    parser.add_argument("--load-core", type=int, default=1, help="core of the load generator and upstream")
    parser.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto", help="bench loops")
    parser.add_argument(
        "--service-loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="experiment: run the service on uvloop (default: exactly as `rejoinder serve`)",
    )
    parser.add_argument(
        "--service-log-level",
        metavar="LEVEL",
        help="experiment: `rejoinder serve --log-level LEVEL` (default: the service's own default)",
    )
    parser.add_argument(
        "--service-setup",
        metavar="CODE",
        help="experiment: Python run in the service process before `rejoinder serve` starts, "
        "e.g. 'import gc; gc.set_threshold(50_000, 20, 20)'",
    )
    parser.add_argument(
        "--at-commit",
        metavar="REV",
        help="run the service from `git archive REV service/src` (default: the working tree)",
    )
    parser.add_argument(
        "--retries", type=int, default=2, help="re-runs of a cell when another process competed for a core"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="scheduling niceness of the bench and everything it starts (negative needs root): "
        "on a shared machine, -10 keeps other processes' share of the pinned cores small",
    )
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="where the service stores responses: its SQLite file (default), or a throwaway PostgreSQL "
        "server the bench starts on the load core (`rejoinder serve --store postgresql://...`)",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--keep-workdir", action="store_true", help="keep logs and the SQLite file")
    return parser


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _service_prefix(args: argparse.Namespace) -> list[str] | None:
    """`-m rejoinder` unless an experiment runs code first (then `-c '<code>; main()'`)."""
    setup = [UVLOOP_SETUP] if args.service_loop == "uvloop" else []
    setup += [args.service_setup] if args.service_setup else []
    return ["-c", "; ".join([*setup, SERVICE_MAIN])] if setup else None


def _service_env(rev: str | None, workdir: Path) -> dict[str, str] | None:
    """Without REV, the working tree (the editable install); with it, an export of that commit."""
    if rev is None:
        return None
    src = workdir / "src"
    src.mkdir()
    root = Path(__file__).resolve().parent.parent
    command = ["git", "archive", rev, "service/src"]
    archive = subprocess.run(command, capture_output=True, check=False, cwd=root)
    if archive.returncode != 0:
        raise BenchError(f"git archive {rev}: {archive.stderr.decode(errors='replace')}")
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
    return {**os.environ, "PYTHONPATH": str(src / "service" / "src")}


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
        "store": args.store,
        "service_setup": args.service_setup,
        "service_log_level": args.service_log_level,
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "pids": pids,
        "affinity": {name: thread_affinity(pid) for name, pid in pids.items()},
    }


async def _scenarios(bench: Bench, args: argparse.Namespace, stem: Path) -> tuple[Results, dict[str, object]]:
    await scenarios.preflight(bench)
    results: Results = {}
    profiles: dict[str, object] = {}
    chosen = [name for name in PARTS if name in (args.only or PARTS)]
    for name in chosen:
        if name == "idle":
            profiles = await _profiles(bench, args, stem)
        await PARTS[name](bench, results)
    if "idle" not in chosen:
        profiles = await _profiles(bench, args, stem)
    return results, profiles


async def _profiles(bench: Bench, args: argparse.Namespace, stem: Path) -> dict[str, object]:
    """After the measured scenarios (py-spy pauses the service to sample it), before `idle`."""
    py_spy = profile.find_py_spy()
    if not args.profile:
        return {}
    if py_spy is None:
        _log("py-spy not found (pip install py-spy): skipping profiles")
        return {}
    seconds = args.profile_seconds or (2.0 if args.quick else 6.0)
    return await profile.profile_all(
        bench, profile.ProfileOptions(py_spy, seconds, args.profile_native), stem
    )


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _start(args: argparse.Namespace, workdir: Path, children: list[Child], store_dsn: str | None) -> Bench:
    """Start the upstream and the service (appending them to `children` at once) and pin them."""
    upstream, upstream_port = start_upstream(workdir, frozenset({args.load_core}), args.loop)
    children.append(upstream)
    prefix = _service_prefix(args)
    url = f"http://127.0.0.1:{upstream_port}/v1"
    env = _service_env(args.at_commit, workdir)
    extra = ("--log-level", args.service_log_level) if args.service_log_level else ()
    if store_dsn is not None:
        extra += ("--store", store_dsn)
    service, ports = start_service(url, workdir, frozenset({args.service_core}), prefix, env, extra)
    children.insert(0, service)
    pids = {
        "svc": service.pid,
        "envoy": _envoy_pid(service),
        "upstream": upstream.pid,
        "loadgen": os.getpid(),
    }
    plan: Plan = scenarios.QUICK if args.quick else scenarios.FULL
    endpoints = Endpoints(upstream_port, ports.http, ports.grpc)
    probe = CpuProbe(pids, {"service_core": args.service_core, "load_core": args.load_core})
    return Bench(endpoints, probe, plan, pids["svc"], pids["envoy"], _log, args.retries)


def _measure(args: argparse.Namespace, workdir: Path, stem: Path) -> dict[str, object]:
    """Everything that needs the processes; they are stopped before this returns or raises."""
    children: list[Child] = []
    postgres = PostgresServer() if args.store == "postgres" else None
    try:
        store_dsn = None
        if postgres is not None:
            store_dsn = postgres.start()
            postgres.pin(frozenset({args.load_core}))
            _log(f"store: a throwaway PostgreSQL on the load core ({store_dsn})")
        bench = _start(args, workdir, children, store_dsn)
        meta = _meta(args, bench.probe.pids)
        _log(f"service from {args.at_commit or 'the working tree'}; pinned: {meta['affinity']}")
        with asyncio.Runner(loop_factory=new_loop_factory(args.loop)) as runner:
            results, profiles = runner.run(_scenarios(bench, args, stem))
    except scenarios.PreflightError as exc:
        tail = children[0].log_tail() if children else ""
        raise BenchError(f"{exc}\n--- service log (tail) ---\n{tail}") from exc
    finally:
        for child in children:
            child.stop()
        if postgres is not None:
            postgres.stop()
    return {"meta": meta, "plan": asdict(bench.plan), "results": results, "profiles": profiles}


def run(args: argparse.Namespace, workdir: Path) -> int:
    """Start everything, measure, report; stop everything whatever happens."""
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stem = args.results_dir / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    doc = _measure(args, workdir, stem)
    plan = scenarios.QUICK if args.quick else scenarios.FULL
    results = doc["results"]
    profiles = doc["profiles"]
    assert isinstance(results, dict) and isinstance(profiles, dict)
    table, verdicts = render(results, plan)
    warning = contention(results)
    doc |= {"targets": verdicts_json(verdicts), "table": table, "contention_warning": warning}
    out = stem.with_suffix(".json")
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(table)
    if profiles:
        print("\n" + profile.render_profiles(profiles))
    rest = [v for v in verdicts if v.path == "rest"]
    print(f"\ntargets through Envoy: {sum(v.passed for v in rest)}/{len(rest)} pass; results: {out}")
    if warning:
        print(warning)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m bench`."""
    args = _parser().parse_args(argv)
    if max(args.service_core, args.load_core) >= (os.cpu_count() or 1):
        cores = f"{args.service_core} and {args.load_core}"
        _log(f"this machine has {os.cpu_count()} cores: pinning needs cores {cores}")
        return 2
    os.sched_setaffinity(0, {args.load_core})
    if args.nice:
        os.nice(args.nice)  # inherited by the upstream, the service and Envoy
    busy = machine_busy_pct()
    if max(busy.values(), default=0.0) > CONTENDED_PCT:
        shown = ", ".join(f"core {n} {pct:.0f}%" for n, pct in sorted(busy.items()))
        _log(f"WARNING: the machine is already busy ({shown}); contended cells are re-run or flagged")
    signal.signal(signal.SIGTERM, _sigterm)
    # Ctrl-C must stop the run even when started with SIGINT ignored (a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="rejoinder-bench-"))
    try:
        return run(args, workdir)
    except KeyboardInterrupt:
        _log("interrupted: everything started was stopped")
        return 130
    except BenchError as exc:
        _log(f"bench failed: {exc}")
        return 1
    finally:
        if args.keep_workdir:
            _log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
