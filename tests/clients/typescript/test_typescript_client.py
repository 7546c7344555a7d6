"""The TypeScript client (`clients/typescript`) and its examples (`clients/examples/typescript`), run by
node against real `rejoinder serve` processes with real Envoy.

Two services share two upstreams: the scripted one (`tests/scripted_upstream.py`: it echoes "You said:
<last user text>", or answers what a test queues) and the benchmark's (`python -m bench.upstream`: the
model name `bench-<tokens>-<delay_ms>` makes a slow stream). The first service is open, the second has
API keys. npm installs the package (`npm ci`, when `node_modules` is missing) and builds it
(`npm run build`: the library, its tests and the examples, strict); node's test runner then runs the
client's suite over gRPC directly and through Envoy's port, and each example is run as a user would.
Without node or npm these tests fail: the TypeScript client is part of what ships.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rejoinder.api.auth import hash_key
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import Script, ScriptedToolCall, ScriptedUpstream

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "clients" / "typescript"
BUILT_TESTS = PACKAGE / "build" / "typescript" / "test"
BUILT_EXAMPLES = PACKAGE / "build" / "examples" / "typescript"

KEY_A = "sk-ts-tenant-a-0001"
KEY_B = "sk-ts-tenant-b-0002"
MODEL = "m"  # routed to the scripted upstream
SLOW_MODEL = "bench/bench-30-50"  # the bench upstream: 30 tokens, one every 50 ms

TARGETS = ("direct", "envoy")
# Every test the node suite must have run and passed (test/*.test.ts), by name.
NODE_TESTS = [
    *(
        f"{name} ({target})"
        for target in TARGETS
        for name in (
            "create returns the finished response",
            "stream yields typed oneof events and the final response",
            "get returns the stored response, delete removes it",
            "a background response is followed with StreamGet from a sequence number",
            "cancel stops a background response",
            "conversations keep items and feed responses",
            "an unknown response is NOT_FOUND with ErrorInfo",
            "an unknown previous_response_id is INVALID_ARGUMENT with ErrorInfo and its param",
            "an invalid field is INVALID_ARGUMENT with a BadRequest violation",
            "a call without a valid API key is UNAUTHENTICATED",
            "the API key's tenant owns its responses",
        )
    ),
    "models lists what routes",
]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"`{name}` is not on PATH: the TypeScript client's tests need Node.js 20 or later and npm "
            "(Debian 13: apt-get install nodejs npm)"
        )
    return path


def run(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run in the package's directory; output captured (stderr into stdout)."""
    return subprocess.run(
        args,
        cwd=PACKAGE,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def service_config(path: Path, scripted: ScriptedUpstream, bench_url: str, keys: bool) -> Path:
    """Model "m" on the scripted upstream, `bench/...` names on the bench upstream; tenants a and b."""
    text = (
        f'[providers.scripted]\nbase_url = "{scripted.base_url}"\n\n'
        f'[providers.bench]\nbase_url = "{bench_url}"\n\n'
        f'[models."{MODEL}"]\nprovider = "scripted"\nmodel = "scripted-model"\n'
    )
    if keys:
        text += f'\n[auth.tenants]\na = ["{hash_key(KEY_A)}"]\nb = ["{hash_key(KEY_B)}"]\n'
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedUpstream]:
    with ScriptedUpstream() as upstream:
        yield upstream


def _serve(data: Path, scripted: ScriptedUpstream, bench_url: str, keys: bool) -> ServiceProcess:
    config = service_config(data / "rejoinder.toml", scripted, bench_url, keys)
    return ServiceProcess(
        data_dir=data, extra_args=["--config", str(config)], api_key=KEY_A if keys else None
    ).start()


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, scripted: ScriptedUpstream, bench_upstream: str
) -> Iterator[ServiceProcess]:
    proc = _serve(tmp_path_factory.mktemp("ts-open"), scripted, bench_upstream, keys=False)
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture(scope="module")
def keyed_service(
    tmp_path_factory: pytest.TempPathFactory, scripted: ScriptedUpstream, bench_upstream: str
) -> Iterator[ServiceProcess]:
    proc = _serve(tmp_path_factory.mktemp("ts-keyed"), scripted, bench_upstream, keys=True)
    yield proc
    assert proc.stop() == 0, proc.log()


def build_package() -> None:
    """`npm ci` when node_modules is missing, then `npm run build` (strict tsc); fails with npm's words."""
    _tool("node")
    npm = _tool("npm")
    if not (PACKAGE / "node_modules").is_dir():
        installed = run([npm, "ci", "--no-audit", "--no-fund"])
        assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout}"
    built = run([npm, "run", "build"])
    assert built.returncode == 0, f"npm run build (tsc, strict) failed:\n{built.stdout}"


@pytest.fixture(scope="module")
def built() -> None:
    build_package()


def node_env(service: ServiceProcess, keyed: ServiceProcess) -> dict[str, str]:
    """Where the node suite finds the services."""
    return {
        "REJOINDER_TEST_DIRECT_URL": f"http://{service.grpc_target}",
        "REJOINDER_TEST_ENVOY_URL": f"http://{service.envoy_target}",
        "REJOINDER_TEST_KEYED_DIRECT_URL": f"http://{keyed.grpc_target}",
        "REJOINDER_TEST_KEYED_ENVOY_URL": f"http://{keyed.envoy_target}",
        "REJOINDER_TEST_KEY_A": KEY_A,
        "REJOINDER_TEST_KEY_B": KEY_B,
        "REJOINDER_TEST_MODEL": MODEL,
        "REJOINDER_TEST_SLOW_MODEL": SLOW_MODEL,
    }


_TAP_RESULT = re.compile(r"^\s*(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO).*)?$")


def tap_results(output: str) -> dict[str, str]:
    """name -> "ok", "not ok", "skip" or "todo" for every test and suite node's TAP reporter printed."""
    results: dict[str, str] = {}
    for line in output.splitlines():
        found = _TAP_RESULT.match(line)
        if found:
            status, name, directive = found.groups()
            results[name] = directive.lower() if directive else status
    return results


def test_the_node_suite_passes_over_grpc_direct_and_through_envoy(
    built: None, service: ServiceProcess, keyed_service: ServiceProcess
) -> None:
    files = sorted(str(p.relative_to(PACKAGE)) for p in BUILT_TESTS.glob("*.test.js"))
    assert files, f"no compiled tests in {BUILT_TESTS}"
    result = run(
        [_tool("node"), "--test", "--test-reporter=tap", *files],
        env=node_env(service, keyed_service),
        timeout=300,
    )
    results = tap_results(result.stdout)
    failed = sorted(name for name, status in results.items() if status != "ok")
    assert result.returncode == 0 and not failed, f"node --test failed ({failed}):\n{result.stdout}"
    missing = [name for name in NODE_TESTS if name not in results]
    assert not missing, f"these tests did not run: {missing}\n{result.stdout}"


def run_example(name: str, keyed: ServiceProcess, model: str = MODEL) -> str:
    """Run a compiled example against the keyed service through Envoy, as its README says; its stdout."""
    result = run(
        [_tool("node"), str(BUILT_EXAMPLES / f"{name}.js")],
        env={
            "REJOINDER_URL": f"http://{keyed.envoy_target}",
            "REJOINDER_API_KEY": KEY_A,
            "REJOINDER_MODEL": model,
        },
        timeout=60,
    )
    assert result.returncode == 0, f"example {name} failed:\n{result.stdout}"
    return result.stdout


def test_example_create(built: None, keyed_service: ServiceProcess, scripted: ScriptedUpstream) -> None:
    scripted.reset()
    out = run_example("create", keyed_service)
    assert re.search(r"^resp_\S+ completed: You said: Say hello in five words\.$", out, re.M), out


def test_example_stream(built: None, keyed_service: ServiceProcess, scripted: ScriptedUpstream) -> None:
    scripted.reset()
    scripted.enqueue(Script(text=["Once ", "upon ", "a ", "time."]))
    out = run_example("stream", keyed_service)
    assert out.splitlines()[0] == "Once upon a time.", out
    assert re.search(r"^\[4 deltas; response resp_\S+ completed, \d+ output tokens\]$", out, re.M), out


def test_example_function_tool(
    built: None, keyed_service: ServiceProcess, scripted: ScriptedUpstream
) -> None:
    scripted.reset()
    call = ScriptedToolCall(id="call_w1", name="get_weather", arguments='{"city": "Paris"}')
    scripted.enqueue(Script(tool_calls=[call]), Script(text="It is 18 degrees and sunny in Paris."))
    out = run_example("function_tool", keyed_service)
    assert 'model called get_weather({"city": "Paris"}) as call_w1' in out, out
    assert out.splitlines()[-1] == "answer: It is 18 degrees and sunny in Paris.", out
    first, second = scripted.requests
    assert [t["function"]["name"] for t in first["tools"]] == ["get_weather"]
    tool_messages = [m for m in second["messages"] if m["role"] == "tool"]
    assert tool_messages == [
        {"role": "tool", "tool_call_id": "call_w1", "content": '{"city":"Paris","celsius":18,"sky":"sunny"}'}
    ], second["messages"]


def test_example_background_resume(built: None, keyed_service: ServiceProcess) -> None:
    out = run_example("background_resume", keyed_service, model=SLOW_MODEL)
    lines = out.splitlines()
    before = re.fullmatch(r"read (\d+) events, left at sequence number (\d+): (.*)", lines[0])
    assert before, out
    assert int(before.group(3).count("tok")) >= 1
    after = re.fullmatch(r"resumed after (\d+): first event (\d+)", lines[1])
    assert after and after.group(1) == before.group(2) and int(after.group(2)) == int(after.group(1)) + 1, out
    assert lines[-1] == "completed: " + " tok" * 30, out
