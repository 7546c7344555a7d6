"""`python -m bench --scaling`: Rejoinder's `serve --workers N` at N=1 and N=2, against LiteLLM's proxy
at `--num_workers` 1 and 2, on this machine's 2 cores (see bench/README.md, "Workers").

Starts the bench upstream; `rejoinder serve --workers 1` and `--workers 2` (SQLite), `--workers 2
--no-envoy` behind an Envoy of ours on the shared `SO_REUSEPORT` port (the port choice), the same two
on a throwaway PostgreSQL server when its binaries are installed, and LiteLLM at 1 and 2 workers (its
own virtualenv, `bench.litellm_proxy`): all at once, each idle while another is measured. Everything
may run on both cores. Measures in rounds (`bench.scaling_measure`), prints the tables
(`bench.scaling_report`), writes `bench/results/<timestamp>-scaling.json`, stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from bench import litellm_proxy, scaling_ports, scaling_report
from bench.observability import combine  # the means over rounds, as --observability takes them
from bench.procs import BenchError, Child, machine_busy_pct, rss_bytes, start_upstream, thread_affinity
from bench.proctree import TreeProbe
from bench.report import contention
from bench.scaling_measure import FULL, QUICK, STORE_GROUP, Measurer, WindowPlan, preflight
from bench.scaling_systems import (
    LiteLLMSpec,
    RejoinderSpec,
    System,
    await_litellm,
    await_rejoinder,
    launch_litellm,
    launch_rejoinder,
)
from bench.scenarios import PreflightError
from bench.upstream import new_loop_factory
from tests.postgres_server import PostgresServer, create_database

Log = Callable[[str], None]
ALL_CORES = frozenset(range(os.cpu_count() or 1))
MODELS = ("bench-16-0", "bench-64-0")
# key -> (spec, role: which cells it runs, see scaling_measure.CELLS_OF)
REJOINDERS = (
    (RejoinderSpec("r1", "Rejoinder N=1", 1), "rejoinder"),
    (RejoinderSpec("r2", "Rejoinder N=2", 2), "rejoinder"),
    (RejoinderSpec("r2shared", "Rejoinder N=2, shared port", 2, shared_port_envoy=True), "shared"),
)
POSTGRES = (
    (RejoinderSpec("pg1", "Rejoinder N=1, PostgreSQL", 1), "postgres"),
    (RejoinderSpec("pg2", "Rejoinder N=2, PostgreSQL", 2), "postgres"),
)
LITELLMS = (
    (LiteLLMSpec("l1", "LiteLLM N=1", 1), "litellm"),
    (LiteLLMSpec("l2", "LiteLLM N=2", 2), "litellm"),
)


def _start_postgres(log: Log) -> tuple[PostgresServer | None, list[str]]:
    """A throwaway server and one database per PostgreSQL system, or None when it cannot run here."""
    try:
        server = PostgresServer()
        admin = server.start()
    except (RuntimeError, OSError) as exc:
        log(f"no PostgreSQL here ({str(exc).splitlines()[0]}): the PostgreSQL rows are skipped")
        return None, []
    try:
        dsns = [asyncio.run(create_database(admin)) for _ in POSTGRES]
    except BaseException:
        server.stop()
        raise
    log(f"store: a throwaway PostgreSQL server ({admin}), one database per system")
    return server, dsns


def _postmaster(dsn: str) -> int | None:
    """The PostgreSQL server's pid, found by its port in its command line."""
    port = dsn.rsplit(":", 1)[1].split("/")[0]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"postgres") and b"-p" in argv and port.encode() in argv:
                return int(entry)
    return None


def _litellm(log: Log) -> Path | None:
    try:
        return litellm_proxy.ensure_venv(log)
    except (BenchError, OSError, subprocess.SubprocessError) as exc:
        log(f"LiteLLM is not measured: {exc}")
        return None


def _start_systems(
    workdir: Path, upstream_port: int, dsns: list[str], litellm: Path | None, log: Log
) -> tuple[dict[str, System], dict[str, str], list[System]]:
    """Launch every system at once, then wait for each; `started` gets each as soon as it is known."""
    cpus = ALL_CORES
    url = f"http://127.0.0.1:{upstream_port}/v1"
    specs = list(REJOINDERS)
    if dsns:
        stored = zip(POSTGRES, dsns, strict=True)
        specs += [(RejoinderSpec(s.key, s.label, s.workers, store=dsn), role) for (s, role), dsn in stored]
    launched_r = [(launch_rejoinder(spec, url, workdir / spec.key, cpus), role) for spec, role in specs]
    launched_l = []
    if litellm is not None:
        for spec, role in LITELLMS:
            launched_l.append(
                (launch_litellm(spec, litellm, MODELS, upstream_port, workdir / spec.key, cpus), role)
            )
    systems: dict[str, System] = {}
    roles: dict[str, str] = {}
    started: list[System] = []
    try:
        for launched, role in launched_r:
            system = await_rejoinder(launched, workdir / launched.spec.key, cpus)
            systems[system.key], roles[system.key] = system, role
            started.append(system)
            log(f"{system.label}: pids {system.processes()}")
        for pair, role in launched_l:
            system = await_litellm(pair)
            systems[system.key], roles[system.key] = system, role
            started.append(system)
            log(f"{system.label}: pids {system.processes()}")
    except BaseException:
        for launched, _ in launched_r:
            launched.child.stop()
        for (_, proxy), _ in launched_l:
            proxy.child.stop()
        for system in started:
            system.stop()
        raise
    return systems, roles, started


def _rss_mb(pid: int) -> float:
    try:
        return rss_bytes(pid) / 2**20
    except OSError:
        return 0.0


def _describe(system: System) -> dict[str, object]:
    processes = system.processes()
    rss = {str(pid): _rss_mb(pid) for pid in processes}
    return {
        "label": system.label,
        "kind": system.kind,
        "workers": system.workers,
        "http_port": system.http_port,
        "grpc_port": system.grpc_port,
        "processes": {str(pid): role for pid, role in processes.items()},
        "rss_mb_by_pid": rss,
        "rss_mb": sum(rss.values()),
        "argv": [" ".join(str(a) for a in child.proc.args) for child in system.children],  # type: ignore[union-attr]
        "affinity": {str(pid): thread_affinity(pid) for pid in system.roots},
        **system.notes,
    }


def _meta(args: argparse.Namespace, plan: WindowPlan, busy: dict[int, float]) -> dict[str, object]:
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "commit": commit,
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "quick": args.quick,
        "plan": asdict(plan),
        "litellm_version": litellm_proxy.LITELLM_VERSION,
        "busy_before_pct": busy,
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "loadgen_affinity": sorted(os.sched_getaffinity(0)),
    }


def _measure(args: argparse.Namespace, workdir: Path, plan: WindowPlan, log: Log) -> dict[str, object]:
    """Start everything, preflight, measure; everything is stopped before this returns or raises."""
    children: list[Child] = []
    postgres: PostgresServer | None = None
    started: list[System] = []
    try:
        upstream, upstream_port = start_upstream(workdir, ALL_CORES, args.loop)
        children.append(upstream)
        postgres, dsns = _start_postgres(log)
        litellm = _litellm(log)
        systems, roles, started = _start_systems(workdir, upstream_port, dsns, litellm, log)
        groups = {key: system.roots for key, system in systems.items()}
        postmaster = _postmaster(dsns[0]) if dsns else None
        if postmaster is not None:
            groups[STORE_GROUP] = (postmaster,)
        probe = TreeProbe({"loadgen": os.getpid(), "upstream": upstream.pid}, groups=groups)
        measurer = Measurer(systems, probe, plan, log, args.retries)
        with asyncio.Runner(loop_factory=new_loop_factory(args.loop)) as runner:
            for key, system in systems.items():
                runner.run(preflight(system, roles[key]))
                runner.run(measurer.warm(system))
            rounds = runner.run(measurer.rounds(roles))
            draws = []
            if "r2shared" in systems:
                log(f"port choice: {plan.envoy_draws} restarts of the Envoy in front of the shared port")
                shared = systems["r2shared"]
                run = scaling_ports.draws(shared, probe, plan.envoy_draws, plan.draw_s, ALL_CORES, log)
                draws = runner.run(run)
        described = {key: _describe(system) for key, system in systems.items()}
    except PreflightError as exc:
        tails = "\n".join(f"--- {c.name} ---\n{c.log_tail(10)}" for s in started for c in s.children)
        raise BenchError(f"{exc}\n{tails}") from exc
    finally:
        for system in started:
            system.stop()
        for child in children:
            child.stop()
        if postgres is not None:
            postgres.stop()
    return {"systems": described, "roles": roles, "rounds": rounds, "envoy_draws": draws}


def run_scaling(args: argparse.Namespace, workdir: Path, log: Log) -> int:
    """`--scaling`: measure, print the tables, save the JSON."""
    os.sched_setaffinity(0, ALL_CORES)  # the load shares both cores too
    plan = QUICK if args.quick else FULL
    if args.rounds:
        plan = replace(plan, rounds=args.rounds)
    busy = machine_busy_pct()
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stem = args.results_dir / time.strftime("%Y%m%dT%H%M%SZ-scaling", time.gmtime())
    doc = _measure(args, workdir, plan, log)
    rounds, systems, draws = doc["rounds"], doc["systems"], doc["envoy_draws"]
    assert isinstance(rounds, list) and isinstance(systems, dict) and isinstance(draws, list)
    results = combine(rounds)
    labels = {key: str(info["label"]) for key, info in systems.items()}
    rss = {labels[key]: float(info["rss_mb"]) for key, info in systems.items()}
    table = scaling_report.render(results, labels, scaling_ports.summary(draws), rss)
    doc["envoy_draws"] = scaling_ports.as_json(draws)
    warning = contention({f"{key} (round {n})": r[key] for n, r in enumerate(rounds, 1) for key in r})
    out = stem.with_suffix(".json")
    doc = {
        "mode": "scaling",
        "meta": _meta(args, plan, busy),
        **doc,
        "results": results,
        "extrapolation": scaling_report.extrapolation(results, labels),
        "recommendation": scaling_report.recommendation(results),
        "table": table,
        "contention_warning": warning,
    }
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(table)
    print(f"\nresults: {out}")
    if warning:
        print(warning)
    return 0
