"""Python calls per REST create, counted by cProfile inside the service: a figure that does not drift.

CPU time on this VM drifts by 10-40% between runs; the number of Python calls a request makes does not.
Installed in the service process through the bench's `--service-setup`, it profiles REST creates
`SKIP` to `SKIP + COUNT` (warm, all of them inside the first REST window of `--only nonstream`, whose
5 s hold them even slowed by the profiler) and writes calls per request, then the most called
functions, to `REJOINDER_CALL_COUNT_OUT` (default `bench/results/call-count.txt`):

    python -m bench --only nonstream --no-profile \\
        --service-setup "import bench.call_count as c; c.install()" [--at-commit REV]

The report says how many typed `Create` calls fell inside the profiled window: the count is clean when
that is 0 (`--quick` windows are too short for it). cProfile slows the profiled requests several times
over, so only the counts mean anything.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
from pathlib import Path
from typing import Any

SKIP = 200
COUNT = 500
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "call-count.txt"


def report(stats: pstats.Stats, requests: int, others: int) -> str:
    """Calls per request (all, and primitive: not counting recursive re-entries), then the top 40;
    `others`: typed creates that fell inside the window."""
    listing = io.StringIO()
    stats.stream = listing  # type: ignore[attr-defined]
    stats.sort_stats("ncalls").print_stats(40)
    head = (
        f"calls_per_request {stats.total_calls / requests:.1f} "  # type: ignore[attr-defined]
        f"primitive {stats.prim_calls / requests:.1f} over {requests} requests; "  # type: ignore[attr-defined]
        f"typed creates in the window: {others}\n"
    )
    return head + listing.getvalue()


def install(skip: int = SKIP, count: int = COUNT) -> None:
    """Wrap the REST bridge's `CreateResponse` to profile creates `skip` to `skip + count`."""
    from rejoinder.api import grpc_servicer  # the service's own modules, as this process runs them
    from rejoinder.api.rest import servicer

    profile = cProfile.Profile()
    seen = others = 0
    create = servicer.OpenAIHttpServicer.CreateResponse
    typed = grpc_servicer.ResponsesServicer.Create
    out = Path(os.environ.get("REJOINDER_CALL_COUNT_OUT", DEFAULT_OUT))

    def counted(self: Any, request: Any, context: Any) -> Any:
        nonlocal seen
        seen += 1
        if seen == skip:
            profile.enable()
        elif seen == skip + count:
            profile.disable()
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(report(pstats.Stats(profile), count, others))
        return create(self, request, context)

    def typed_counted(self: Any, request: Any, context: Any) -> Any:
        nonlocal others
        others += skip <= seen < skip + count
        return typed(self, request, context)

    servicer.OpenAIHttpServicer.CreateResponse = counted  # type: ignore[method-assign]
    grpc_servicer.ResponsesServicer.Create = typed_counted  # type: ignore[method-assign]
