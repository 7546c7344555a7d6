"""The Python examples (`clients/examples/python`), each run as a user would: `python <example>.py` in a
subprocess, outside the repository, configured by REJOINDER_URL, REJOINDER_API_KEY and REJOINDER_MODEL,
against a live `rejoinder serve` with API keys, over its gRPC port and through Envoy's listener.

Model `m` is the scripted upstream (`tests/scripted_upstream.py`: it echoes "You said: <last user
text>", or answers what a test queues, and records what it was sent); `bench/bench-30-50` is the
benchmark's upstream (`python -m bench.upstream`: 30 tokens " tok", one every 50 ms), slow enough to
leave a background stream in the middle and come back to it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.python.conftest import ACME, MODEL, write_config
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import Script, ScriptedToolCall, ScriptedUpstream

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "clients" / "examples" / "python"
BENCH_TOKENS = 30
SLOW_MODEL = f"bench/bench-{BENCH_TOKENS}-50"


@pytest.fixture(scope="module")
def examples_service(
    tmp_path_factory: pytest.TempPathFactory, client_upstream: ScriptedUpstream, bench_upstream: str
) -> Iterator[ServiceProcess]:
    """`rejoinder serve` (with Envoy) with API keys: `m` on the scripted upstream, `bench/...` on the
    bench upstream."""
    service = ServiceProcess(data_dir=tmp_path_factory.mktemp("examples"), api_key=ACME)
    write_config(service, client_upstream, keys=True)
    config = service.data_dir / "rejoinder.toml"
    config.write_text(config.read_text() + f'\n[providers.bench]\nbase_url = "{bench_upstream}"\n')
    service.start()
    yield service
    assert service.stop() == 0, service.log()


@pytest.fixture(params=["direct", "via-envoy"])
def url(request: pytest.FixtureRequest, examples_service: ServiceProcess) -> str:
    """REJOINDER_URL: the service's gRPC port, or Envoy's listener."""
    if request.param == "direct":
        return examples_service.grpc_target
    return examples_service.envoy_target


def run_example(
    name: str, url: str, *, model: str = MODEL, api_key: str | None = ACME, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`python clients/examples/python/<name>.py`, run from `cwd` (not the repository, so only the
    installed client is importable), with the example's environment and nothing else of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REJOINDER_")}
    env |= {"REJOINDER_URL": url, "REJOINDER_MODEL": model, "PYTHONPATH": ""}
    if api_key is not None:
        env["REJOINDER_API_KEY"] = api_key
    return subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def output_of(name: str, url: str, cwd: Path, model: str = MODEL) -> str:
    """The stdout of an example that must succeed."""
    result = run_example(name, url, model=model, cwd=cwd)
    assert result.returncode == 0, f"{name}.py failed:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def test_create_prints_the_response_and_its_text(
    url: str, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    out = output_of("create", url, tmp_path)
    assert re.fullmatch(r"resp_\S+ completed: You said: Say hello in five words\.\n", out), out
    (sent,) = upstream.requests
    assert {"role": "system", "content": "Be brief."} in sent["messages"], sent["messages"]


def test_create_without_the_api_key_says_unauthenticated(
    url: str, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    result = run_example("create", url, api_key=None, cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == "", result
    assert result.stderr.startswith("create failed: UNAUTHENTICATED"), result.stderr
    assert not upstream.requests


def test_stream_prints_the_deltas_then_the_final_response(
    url: str, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    upstream.enqueue(Script(text=["Once ", "upon ", "a ", "time."]))
    out = output_of("stream", url, tmp_path)
    lines = out.splitlines()
    assert lines[0] == "Once upon a time.", out
    assert re.fullmatch(r"\[4 deltas; response resp_\S+ completed, 4 output tokens\]", lines[1]), out
    assert len(lines) == 2, out


def test_function_tool_sends_the_local_result_back_to_the_model(
    url: str, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    call = ScriptedToolCall(id="call_w1", name="get_weather", arguments='{"city": "Paris"}')
    upstream.enqueue(Script(tool_calls=[call]), Script(text="It is 18 degrees and sunny in Paris."))
    out = output_of("function_tool", url, tmp_path)
    assert out.splitlines() == [
        'model called get_weather({"city": "Paris"}) as call_w1',
        "answer: It is 18 degrees and sunny in Paris.",
    ], out
    first, second = upstream.requests
    assert [t["function"]["name"] for t in first["tools"]] == ["get_weather"]
    assert first["tools"][0]["function"]["parameters"]["required"] == ["city"]
    # previous_response_id brought the first turn back: the question, the call, then the tool's answer.
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "tool"], second["messages"]
    assert second["messages"][1]["tool_calls"][0]["id"] == "call_w1"
    assert second["messages"][2] == {
        "role": "tool",
        "tool_call_id": "call_w1",
        "content": '{"city":"Paris","celsius":18,"sky":"sunny"}',
    }


def test_background_resume_continues_right_after_the_last_event_read(url: str, tmp_path: Path) -> None:
    out = output_of("background_resume", url, tmp_path, model=SLOW_MODEL)
    lines = out.splitlines()
    left = re.fullmatch(r"read (\d+) events, left at sequence number (\d+): (.*)", lines[0])
    assert left is not None, out
    events, left_at, text_before = int(left.group(1)), int(left.group(2)), left.group(3)
    assert text_before == " tok" * 3, out  # it left after three deltas...
    assert left_at == events - 1, out  # ...having read every event up to there, from 0
    resumed = re.fullmatch(r"resumed after (\d+): first event (\d+)", lines[1])
    assert resumed is not None, out
    assert (int(resumed.group(1)), int(resumed.group(2))) == (left_at, left_at + 1), out
    # Nothing lost, nothing twice, and the run went to its end.
    assert lines[2:] == ["completed: " + " tok" * BENCH_TOKENS], out


def test_the_examples_pass_mypy_strict() -> None:
    """Copied into a typed code base, the examples type-check as they are (the generated messages'
    optional fields are narrowed before use)."""
    scripts = sorted(str(p.relative_to(ROOT)) for p in EXAMPLES.glob("*.py"))
    assert scripts, f"no examples in {EXAMPLES}"
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", *scripts],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
