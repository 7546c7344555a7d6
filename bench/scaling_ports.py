"""The port choice over restarts: where Envoy's connections to one shared `SO_REUSEPORT` port land.

Envoy keeps one HTTP/2 connection per worker thread to each host (plus one for health checks); with
the workers behind one shared port, the kernel hashes each *connection* to one of the listening
workers when it is opened, so which worker serves which Envoy thread is drawn anew at each connection.
The rounds measure one draw (the one Envoy started with); this restarts our Envoy `draws` times and,
after each, runs c=64 REST for a short window: Envoy's connections held by each worker and each
worker's share of the workers' CPU. A draw is *lopsided* when one worker did over `LOPSIDED_PCT` of
the work. (Envoy in front of the workers' own ports, the default, balances by least requests over
two hosts: no draw is involved.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.conns import accepted_by_pid
from bench.load import LoopSpec, closed_loop
from bench.proctree import TreeProbe
from bench.scaling_measure import NONSTREAM
from bench.scaling_systems import System, restart_shared_envoy
from bench.scaling_targets import rest_target

LOPSIDED_PCT = 90.0


@dataclass(frozen=True)
class Draw:
    """One Envoy start: its connections per worker, the workers' CPU shares (%), the throughput."""

    conns: tuple[int, ...]
    shares: tuple[float, ...]
    rps: float

    @property
    def lopsided(self) -> bool:
        return max(self.shares, default=0.0) > LOPSIDED_PCT


async def draws(
    system: System,
    probe: TreeProbe,
    count: int,
    seconds: float,
    cpus: frozenset[int],
    log: Callable[[str], None],
) -> list[Draw]:
    """`count` restarts of our Envoy, each followed by a c=64 REST window of `seconds`."""
    out = []
    for n in range(count):
        restart_shared_envoy(system, cpus)
        probe.groups[system.key] = system.roots
        target = rest_target(system, NONSTREAM)
        try:
            result = await closed_loop(target, LoopSpec(64, 0.2, seconds, 100_000), probe)
            conns = accepted_by_pid(system.worker_pids, system.listen_ports)
        finally:
            await target.aclose()
        cpu = [probe.per_pid.get(pid, 0.0) for pid in system.worker_pids]
        shares = tuple(100 * c / sum(cpu) if sum(cpu) else 0.0 for c in cpu)
        draw = Draw(
            tuple(conns[pid] for pid in system.worker_pids), shares, len(result.samples) / result.window_s
        )
        log(
            f"  Envoy start {n + 1}/{count}: connections {_slash(draw.conns)}, CPU shares "
            f"{'/'.join(f'{s:.0f}' for s in shares)} %, {draw.rps:.0f} rps"
        )
        out.append(draw)
    return out


def _slash(values: tuple[int, ...]) -> str:
    return "/".join(str(v) for v in values)


def summary(found: list[Draw]) -> str:
    """One line: how often a restart left one worker with (nearly) all the work."""
    if not found:
        return ""
    lopsided = [d for d in found if d.lopsided]
    even = [d for d in found if not d.lopsided]
    return (
        f"Envoy -> one shared port, {len(found)} Envoy starts: connections per worker "
        f"{', '.join(_slash(d.conns) for d in found)}; one worker did over {LOPSIDED_PCT:.0f}% of the work "
        f"in {len(lopsided)} of {len(found)} (c=64 REST: {_mean_rps(even):,.0f} rps when spread, "
        f"{_mean_rps(lopsided):,.0f} when lopsided)"
    )


def _mean_rps(found: list[Draw]) -> float:
    return sum(d.rps for d in found) / len(found) if found else float("nan")


def as_json(found: list[Draw]) -> list[dict[str, object]]:
    return [{"conns": list(d.conns), "cpu_shares_pct": list(d.shares), "rps": d.rps} for d in found]
