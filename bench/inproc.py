"""The service's own CPU per non-stream REST create, without gRPC or Envoy: `python -m bench.inproc`.

Through Envoy and grpc.aio (`python -m bench.ab`) a change of 2% of the service's own Python hides in the
drift of everything around it. Here a child process per build serves the REST bridge's `CreateResponse`
exactly as the server registers it (the call's record, access line and metrics included: the handler
`api.calls` makes) and calls it in-process with the bytes Envoy sends for the bench's non-stream request,
against the bench upstream on the load core. The child's CPU per create is the service's own work, its
upstream socket included; no gRPC server, no Envoy. Children of A and B take turns, `--pairs` times (the
order alternating), each measuring `--n` creates after a warm-up: the per-pair ratio B/A says whether a
change is real (all pairs on one side of 1).

    python -m bench.inproc                            # HEAD (A) against the working tree (B)
    python -m bench.inproc --a REV --b REV2 --pairs 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.ab import WORKTREE, builds_and_cores
from bench.procs import Child, service_env, start_child, start_upstream
from bench.targets import Shape, rest_body

ROOT = Path(__file__).resolve().parent.parent
CREATE = "/rejoinder.responses.v1.OpenAIHttpService/CreateResponse"
SHAPE = Shape(tokens=16, stream=False)
WARM = 300
RESULT = "cpu_us_per_create "


class _Context:
    """What the REST bridge asks of a grpc.aio context on a successful create."""

    def invocation_metadata(self) -> tuple[()]:
        return ()

    def set_code(self, code: object) -> None:
        """Not asked on success."""

    def set_details(self, details: str) -> None:
        """Not asked on success."""

    async def send_initial_metadata(self, metadata: object) -> None:
        """No rate-limit headers on an unlimited server."""

    async def abort(self, code: object, details: str) -> None:
        raise RuntimeError(f"the create was refused: {details}")


async def _measure_here(port: int, n: int) -> float:
    """In the child: CPU µs per create, over `n` creates after `WARM` (imports the service it is given)."""
    from google.api.httpbody_pb2 import HttpBody

    from rejoinder import config, logs
    from rejoinder.api import calls
    from rejoinder.app import start_grpc

    handlers: dict[str, Any] = {}
    register = calls._Routes.add

    def captured(self: Any, path: str, handler: Any) -> None:
        handlers[path] = handler
        register(self, path, handler)

    calls._Routes.add = captured  # type: ignore[method-assign]
    logs.configure("INFO")  # the access lines go where `rejoinder serve` writes them: stderr
    with tempfile.TemporaryDirectory(prefix="rejoinder-inproc-") as data:
        flags = {"upstream": f"http://127.0.0.1:{port}/v1", "data_dir": data, "grpc_port": 0}
        settings = config.load(flags, env={})
        app = await start_grpc(settings)
        try:
            create = handlers[CREATE]
            body = HttpBody(content_type="application/json", data=rest_body(SHAPE)).SerializeToString()
            context = _Context()

            async def one() -> None:
                replies = [r async for r in create.unary_stream(create.request_deserializer(body), context)]
                if b'"status":"completed"' not in bytes(replies[-1].data):
                    raise RuntimeError(f"not completed: {bytes(replies[-1].data)[:300]!r}")

            for _ in range(WARM):
                await one()
            started = time.process_time()
            for _ in range(n):
                await one()
            return (time.process_time() - started) / n * 1e6
        finally:
            await app.stop(0)


def _child_main(port: int, n: int) -> int:
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        cpu_us = runner.run(_measure_here(port, n))
    print(f"{RESULT}{cpu_us:.2f}", flush=True)
    return 0


def _run_child(env: dict[str, str] | None, port: int, n: int, core: int, log: Path) -> float:
    argv = [sys.executable, "-m", "bench.inproc", "--child", "--port", str(port), "--n", str(n)]
    environment = {**(env or os.environ), "GRPC_ENABLE_FORK_SUPPORT": "false"}  # as `rejoinder serve` sets it
    child = start_child("inproc child", argv, log, frozenset({core}), environment)
    code = child.proc.wait(timeout=300)
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.startswith(RESULT)]
    if code != 0 or not lines:
        raise RuntimeError(f"the child exited {code}: {log.read_text(errors='replace')[-2000:]}")
    return float(lines[-1].removeprefix(RESULT))


def measure(
    a: str, b: str, pairs: int, n: int, service_core: int, load_core: int
) -> list[tuple[float, float]]:
    """CPU µs per create of A and of B, per pair."""
    with tempfile.TemporaryDirectory(prefix="rejoinder-inproc-") as tmp:
        root = Path(tmp)
        envs = {}
        for label, rev in (("A", a), ("B", b)):
            (root / label).mkdir()
            envs[label] = service_env(None if rev == WORKTREE else rev, root / label)
        upstream: Child | None = None
        try:
            upstream, port = start_upstream(root, frozenset({load_core}), "asyncio")
            figures = []
            for i in range(pairs):
                got = {}
                for label in ("A", "B") if i % 2 == 0 else ("B", "A"):
                    got[label] = _run_child(envs[label], port, n, service_core, root / f"{label}-{i}.log")
                figures.append((got["A"], got["B"]))
                print(f"pair {i + 1}/{pairs}: A {got['A']:.1f} us, B {got['B']:.1f} us", flush=True)
            return figures
        finally:
            if upstream is not None:
                upstream.stop()


def render(figures: Sequence[tuple[float, float]], a: str, b: str) -> str:
    """The medians and the per-pair ratios."""
    ratios = [y / x for x, y in figures]
    a_us, b_us = statistics.median(x for x, _ in figures), statistics.median(y for _, y in figures)
    under = sum(r < 1 for r in ratios)
    return (
        f"A = {a}, B = {b}: CPU per non-stream REST create, in-process\n"
        f"A {a_us:.1f} us, B {b_us:.1f} us, B/A {statistics.median(ratios):.4f} "
        f"(pairs {min(ratios):.3f}-{max(ratios):.3f}, {under}/{len(ratios)} under 1)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inproc", description=__doc__.split("\n\n")[0])
    builds_and_cores(parser)
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--n", type=int, default=1500, help="creates measured per child")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child_main(args.port, args.n)
    figures = measure(args.a, args.b, args.pairs, args.n, args.service_core, args.load_core)
    print(render(figures, args.a, args.b))
    return 0


if __name__ == "__main__":
    sys.exit(main())
