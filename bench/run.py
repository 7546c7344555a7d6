"""`python -m bench`: what the gateway costs, as one table (see bench/README.md).

Starts the bench upstream and `python -m rejoinder serve` (with Envoy) pinned to their cores, runs
every scenario on the direct, REST-through-Envoy and typed-gRPC paths, prints one table with the
targets of issue 6, writes bench/results/<timestamp>.json, optionally profiles the service with
py-spy, and stops everything it started (also on Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from types import FrameType

import grpc

from bench import beside_big, burst, floor, observability, profile, scenarios
from bench.otlp_sink import sink_counts, start_sink
from bench.procs import (
    LOOPBACK,
    BenchError,
    Child,
    CpuProbe,
    envoy_pid,
    machine_busy_pct,
    service_env,
    start_service,
    start_upstream,
    thread_affinity,
)
from bench.report import contention, counted, render, verdicts_json
from bench.scaling import run_scaling
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
    "floor": floor.floor,
    "burst": burst.burst,
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
    parser.add_argument(
        "--observability",
        action="store_true",
        help="what metrics and tracing cost: non-stream and stream c=1 on REST and gRPC against three "
        "services (--no-metrics; metrics; metrics + OTLP tracing to a span-counting sink), about 2.5 minutes",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="--observability: rounds of windows over the three services, averaged (default 4; quick 2)",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="serve --workers 1 and 2 (and the shared-port Envoy, and PostgreSQL) against LiteLLM "
        "--num_workers 1 and 2, everything on both cores; --rounds N (default 2; quick 1), about 6 minutes",
    )
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


def _tagged_log(tag: str, message: str) -> None:
    _log(f"{message} [{tag}]")


def _service_prefix(args: argparse.Namespace) -> list[str] | None:
    """`-m rejoinder` unless an experiment runs code first (then `-c '<code>; main()'`)."""
    setup = [UVLOOP_SETUP] if args.service_loop == "uvloop" else []
    setup += [args.service_setup] if args.service_setup else []
    return ["-c", "; ".join([*setup, SERVICE_MAIN])] if setup else None


def _argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


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
        "service_argv": _argv(pids["svc"]),
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


def _metrics_port_args(args: argparse.Namespace) -> tuple[str, ...]:
    """`--metrics-port 0` when the service has that flag: metrics are on by default on port 9464, and
    two runs (or a service already running) must never collide on it."""
    main_py = "service/src/rejoinder/__main__.py"
    root = Path(__file__).resolve().parent.parent
    if args.at_commit is None:
        source = (root / main_py).read_text()
    else:
        command = ["git", "show", f"{args.at_commit}:{main_py}"]
        source = subprocess.run(command, capture_output=True, text=True, check=False, cwd=root).stdout
    return ("--metrics-port", "0") if "--metrics-port" in source else ()


def _start_upstream(args: argparse.Namespace, workdir: Path, children: list[Child]) -> tuple[Child, int]:
    upstream, upstream_port = start_upstream(workdir, frozenset({args.load_core}), args.loop)
    children.append(upstream)
    return upstream, upstream_port


def _start_service(
    args: argparse.Namespace,
    workdir: Path,
    children: list[Child],
    upstream: tuple[Child, int],
    env: Mapping[str, str] | None,
    extra: tuple[str, ...],
) -> tuple[Child, Bench]:
    """Start the service (inserting it first in `children` at once, so it is stopped first) and pin it."""
    upstream_child, upstream_port = upstream
    url = f"http://127.0.0.1:{upstream_port}/v1"
    log_level = ("--log-level", args.service_log_level) if args.service_log_level else ()
    cpus = frozenset({args.service_core})
    service, ports = start_service(url, workdir, cpus, _service_prefix(args), env, (*log_level, *extra))
    children.insert(0, service)
    pids = {
        "svc": service.pid,
        "envoy": envoy_pid(service),
        "upstream": upstream_child.pid,
        "loadgen": os.getpid(),
    }
    plan: Plan = scenarios.QUICK if args.quick else scenarios.FULL
    if args.observability:
        plan = observability.plan_for(quick=args.quick)
    endpoints = Endpoints(upstream_port, ports.http, ports.grpc)
    probe = CpuProbe(pids, {"service_core": args.service_core, "load_core": args.load_core})
    bench = Bench(endpoints, probe, plan, pids["svc"], pids["envoy"], _log, args.retries, workdir)
    return service, bench


def _start(args: argparse.Namespace, workdir: Path, children: list[Child], store_dsn: str | None) -> Bench:
    """Start the upstream and the service (appending them to `children` at once) and pin them."""
    upstream = _start_upstream(args, workdir, children)
    env = service_env(args.at_commit, workdir)
    extra = _metrics_port_args(args)
    if store_dsn is not None:
        extra += ("--store", store_dsn)
    return _start_service(args, workdir, children, upstream, env, extra)[1]


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


def _observability_services(
    args: argparse.Namespace,
    workdir: Path,
    children: list[Child],
    upstream: tuple[Child, int],
    sink: tuple[Child, int],
) -> dict[str, tuple[Child, Bench, dict[str, object]]]:
    """The three services, all started before anything is measured (idle ones cost nothing)."""
    base_env = service_env(args.at_commit, workdir) or dict(os.environ)
    sink_child, sink_port = sink
    services = {}
    for config in observability.CONFIGS:
        (workdir / config.key).mkdir()
        env = config.env(base_env, sink_port)
        extra = config.service_args()
        service, bench = _start_service(args, workdir / config.key, children, upstream, env, extra)
        bench.probe.pids["sink"] = sink_child.pid  # on the load core: counted as ours there, not as "other"
        bench.log = functools.partial(_tagged_log, config.label)
        otel = config.otel_env(sink_port)
        doc: dict[str, object] = {
            "service_args": list(extra),
            "otel_env": otel,
            "meta": _meta(args, bench.probe.pids),
        }
        shown = " ".join(f"{k}={v}" for k, v in otel.items()) or "no OTEL_*"
        _log(f"{config.label}: rejoinder serve {' '.join(extra)}; {shown}")
        services[config.key] = (service, bench, doc)
    return services


def _measure_observability(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    """Start the upstream, the sink and the three services; measure in rounds; check their metrics;
    stop the services (the last spans are exported then) and count the spans."""
    children: list[Child] = []
    try:
        upstream = _start_upstream(args, workdir, children)
        sink, sink_port = start_sink(workdir, frozenset({args.load_core}))
        children.append(sink)
        _log(f"OTLP/gRPC trace sink on {LOOPBACK}:{sink_port} (load core)")
        services = _observability_services(args, workdir, children, upstream, (sink, sink_port))
        benches = {key: bench for key, (_, bench, _) in services.items()}
        rounds = args.rounds or (2 if args.quick else 4)
        with asyncio.Runner(loop_factory=new_loop_factory(args.loop)) as runner:
            measured = runner.run(observability.measure(benches, rounds, _log))
        docs = {}
        for key, (service, _, doc) in services.items():
            url = observability.metrics_url(service.log_path.read_text(errors="replace"))
            calls = observability.counted_calls(observability.scrape(url)) if url else None
            doc |= {"metrics_calls_counted": calls, "upstream_requests": measured.served[key]}
            service.stop()
            children.remove(service)
            docs[key] = doc
        spans = sink_counts(sink_port).as_json()
    except scenarios.PreflightError as exc:
        tails = "\n".join(f"--- {c.log_path} (tail) ---\n{c.log_tail(10)}" for c in children)
        raise BenchError(f"{exc}\n{tails}") from exc
    finally:
        for child in children:
            child.stop()
    metas = {key: doc.pop("meta") for key, doc in docs.items()}
    for key, doc in docs.items():
        meta = metas[key]
        assert isinstance(meta, dict)
        doc |= {"pids": meta["pids"], "service_argv": meta["service_argv"], "affinity": meta["affinity"]}
    return {
        "mode": "observability",
        "meta": metas[observability.CONFIGS[0].key],
        "plan": asdict(observability.plan_for(quick=args.quick)),
        "results": observability.combine(measured.rounds),
        "observability": {"services": docs, "spans": spans, "rounds": measured.rounds},
    }


def run_observability(args: argparse.Namespace, workdir: Path) -> int:
    """`--observability`: measure, print the table and the proof that metrics and traces ran, save."""
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stem = args.results_dir / time.strftime("%Y%m%dT%H%M%SZ-observability", time.gmtime())
    doc = _measure_observability(args, workdir)
    results, summary = doc["results"], doc["observability"]
    assert isinstance(results, dict) and isinstance(summary, dict)
    rounds = summary["rounds"]
    table = observability.render(results, rounds)
    proof = observability.render_proof(summary["services"], summary["spans"])
    warning = contention({f"{key} (round {n})": r[key] for n, r in enumerate(rounds, 1) for key in r})
    costs = observability.costs(results, rounds)
    doc |= {"costs": costs, "table": table, "proof": proof, "contention_warning": warning}
    out = stem.with_suffix(".json")
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(table)
    print("\n" + proof)
    print(f"\nresults: {out}")
    if warning:
        print(warning)
    return 0


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
    judged = counted(verdicts)
    print(
        f"\ntargets through Envoy (and on gRPC where a target names both surfaces): "
        f"{sum(v.passed for v in judged)}/{len(judged)} pass; results: {out}"
    )
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
    if args.observability and (args.only or args.store != "sqlite"):
        _log("--observability runs its own cells (store: false): it takes no --only or --store")
        return 2
    if args.scaling and (args.only or args.observability):
        _log("--scaling runs its own cells on its own systems: it takes no --only or --observability")
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
        if args.scaling:
            return run_scaling(args, workdir, _log)
        return run_observability(args, workdir) if args.observability else run(args, workdir)
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
