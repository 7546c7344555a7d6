"""Every call paces its work on a clock of its own, started when the call opens.

grpc.aio makes each call's task from the server's task, so the call starts with a copy of whatever
pacing clock the code that started the server had. Were that clock kept, a call's first paced work
would find its budget long spent and give the loop a turn it does not need.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from rejoinder.api.calls import SafeRegistrar
from rejoinder.pacing import BUDGET_S, Steps, run_paced

SERVICE = "rejoinder.test.Paced"


def _one_quick_step() -> Steps[None]:
    yield


async def _spend_the_clock() -> None:
    await run_paced(_one_quick_step())  # the clock starts ...
    await asyncio.sleep(2 * BUDGET_S)  # ... and is long spent


async def _turned_during_quick_work(request: bytes, context: Any) -> bytes:
    """b"turned" when the call's first (quick) paced work gave the loop a turn."""
    turned: list[int] = []
    asyncio.get_running_loop().call_soon(turned.append, 1)
    await run_paced(_one_quick_step())
    return b"turned" if turned else b"ran through"


@pytest.fixture
async def channel() -> Any:
    await _spend_the_clock()  # in the task that starts the server, as start-up work would
    server = grpc.aio.server()
    SafeRegistrar(server).add_registered_method_handlers(
        SERVICE, {"Work": grpc.unary_unary_rpc_method_handler(_turned_during_quick_work)}
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as open_channel:
            yield open_channel
    finally:
        await server.stop(None)


async def test_a_calls_first_quick_work_does_not_yield_on_the_servers_spent_clock(channel: Any) -> None:
    work = channel.unary_unary(f"/{SERVICE}/Work")
    for _ in range(3):
        assert await work(b"") == b"ran through"
