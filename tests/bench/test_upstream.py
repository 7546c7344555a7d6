"""The bench's upstream and HTTP/1.1 client: what `direct` measures must be real chat completions."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.targets import Endpoints, Shape
from rejoinder.providers import base as p
from rejoinder.providers.openai_compat import OpenAICompatProvider, UpstreamConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def upstream_port() -> Iterator[int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.upstream", "--port", "0", "--loop", "asyncio"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("ready "), line
        yield int(line.split()[1])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _request(model: str, *, stream: bool) -> p.ChatRequest:
    return p.ChatRequest(model=model, messages=(p.ChatMessage(role="user", content="hi"),), stream=stream)


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
async def test_the_direct_path_counts_every_token(upstream_port: int, stream: bool) -> None:
    target = Endpoints(upstream=upstream_port, http=0, grpc=0).target(
        "direct", Shape(tokens=7, stream=stream)
    )
    session = target.session()
    try:
        sample = await session.call()
    finally:
        session.close()
    assert sample.ok, sample.error
    assert sample.deltas == (7 if stream else 1)
    assert sample.ttft is not None and 0 < sample.ttft <= sample.latency


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
async def test_the_services_adapter_reads_the_bench_upstream(upstream_port: int, stream: bool) -> None:
    provider = OpenAICompatProvider(UpstreamConfig(base_url=f"http://127.0.0.1:{upstream_port}/v1"))
    try:
        deltas = [d async for d in provider.stream(_request("bench-5-0", stream=stream))]
    finally:
        await provider.aclose()
    text = "".join(d.text for d in deltas if isinstance(d, p.TextDelta))
    assert text == " tok" * 5
    assert next(d for d in deltas if isinstance(d, p.UsageDelta)).output_tokens == 5
    assert deltas[-1] == p.FinishDelta("stop")


async def test_a_delayed_model_paces_its_tokens(upstream_port: int) -> None:
    provider = OpenAICompatProvider(UpstreamConfig(base_url=f"http://127.0.0.1:{upstream_port}/v1"))
    arrivals: list[float] = []
    try:
        async for delta in provider.stream(_request("bench-3-150", stream=True)):
            if isinstance(delta, p.TextDelta):
                arrivals.append(time.monotonic())
    finally:
        await provider.aclose()
    assert len(arrivals) == 3
    assert arrivals[1] - arrivals[0] >= 0.1 and arrivals[2] - arrivals[1] >= 0.1
