"""The Go client (`clients/go`), built offline from Debian's Go packages and run by `go test` against real
`rejoinder serve` processes with real Envoy.

Debian (bookworm) packages everything the client needs: Go 1.19 (`golang-go`), the plugins
(`protoc-gen-go` 1.28.1, `protoc-gen-go-grpc` of grpc-go 1.33.3) and the libraries' sources under
/usr/share/gocode/src (grpc-go 1.33.3, protobuf-go 1.28.1, golang/protobuf 1.5.2, genproto of
2020-04-13 for google.api.HttpBody and google.rpc's ErrorInfo/BadRequest). No module proxy is reachable
here, so `go` runs in module mode with GOPROXY=off and a go.work of the test's own: it uses the client's
module and the suite's (tests/clients/go, which requires the client through a `replace`), and replaces
every module of their graph with Debian's source, or, where Debian has none (modules only the graph
names: envoyproxy's, x/lint, ...), with an empty stub module. So the committed go.mod files (upstream
versions, for teams with a proxy) are what the build checks: an import no go.mod requires fails.

Two services share two upstreams: the scripted one (`tests/scripted_upstream.py`: it echoes "You said:
<last user text>") and the benchmark's (`python -m bench.upstream`: the model name `bench-<tokens>-
<delay_ms>` makes a slow stream). The first service is open, the second has API keys for tenants a and
b. Without Go or Debian's Go sources these tests fail: the Go client is part of what ships.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rejoinder.api.auth import hash_key
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import ScriptedUpstream

ROOT = Path(__file__).resolve().parents[3]
CLIENT = ROOT / "clients" / "go"
SUITE = ROOT / "tests" / "clients" / "go"
OWN_MODULES = ("github.com/rejoinder/rejoinder/clients/go", "github.com/rejoinder/rejoinder/tests/clients/go")
GOCODE = Path("/usr/share/gocode/src")
APT_PACKAGES = (
    "golang-go protoc-gen-go protoc-gen-go-grpc golang-google-grpc-dev golang-google-protobuf-dev "
    "golang-google-genproto-dev golang-github-golang-protobuf-1-5-dev"
)

KEY_A = "sk-go-tenant-a-0001"
KEY_B = "sk-go-tenant-b-0002"
MODEL = "m"  # routed to the scripted upstream
SLOW_MODEL = "bench/bench-30-50"  # the bench upstream: 30 tokens, one every 50 ms

# Every test the Go suite must have run and passed, by `go test` name.
GO_TESTS = [
    f"{name}/{target}"
    for name in (
        "TestCreateReturnsTheFinishedResponse",
        "TestStreamYieldsTypedEventsAndTheFinalResponse",
        "TestGetReturnsTheStoredResponseAndDeleteRemovesIt",
        "TestBackgroundResponseIsFollowedWithStreamGetAfter",
        "TestAnUnknownResponseIsNotFoundWithErrorInfo",
        "TestAnUnknownPreviousResponseIsInvalidArgumentWithItsParam",
        "TestAnInvalidFieldIsInvalidArgumentWithABadRequestViolation",
        "TestACallWithoutAValidAPIKeyIsUnauthenticated",
        "TestTheAPIKeysTenantOwnsItsResponses",
        "TestModelsListWhatRoutes",
    )
    for target in ("direct", "envoy")
]


def _go() -> str:
    path = shutil.which("go")
    if path is None:
        pytest.fail(
            f"`go` is not on PATH: the Go client's tests need Debian's Go: apt-get install {APT_PACKAGES}"
        )
    for module in ("google.golang.org/grpc", "google.golang.org/protobuf", "github.com/golang/protobuf"):
        if not (GOCODE / module / "go.mod").is_file():
            pytest.fail(f"{GOCODE / module} is missing: apt-get install {APT_PACKAGES}")
    return path


def _requirements(go_mod: Path) -> list[str]:
    """The module paths a go.mod requires (its `require` lines and blocks)."""
    paths: list[str] = []
    block = False
    for raw in go_mod.read_text().splitlines():
        line = raw.split("//")[0].strip()
        if block:
            if line == ")":
                block = False
            elif line:
                paths.append(line.split()[0])
        elif line == "require (":
            block = True
        elif line.startswith("require "):
            paths.append(line.split()[1])
    return paths


def offline_workspace(directory: Path) -> Path:
    """A go.work for both modules that replaces every other module of their graph: with Debian's source
    when it has a go.mod for it (whose own requirements join the walk), else with an empty stub."""
    replacements: dict[str, Path] = {}
    pending = [CLIENT / "go.mod", SUITE / "go.mod"]
    while pending:
        for module in _requirements(pending.pop()):
            if module in replacements or module in OWN_MODULES:
                continue
            debian = GOCODE / module
            if (debian / "go.mod").is_file():
                replacements[module] = debian
                pending.append(debian / "go.mod")
            else:
                stub = directory / "stub" / module
                stub.mkdir(parents=True, exist_ok=True)
                (stub / "go.mod").write_text(f"module {module}\n")
                replacements[module] = stub
    lines = ["go 1.19", "", "use (", f"\t{CLIENT}", f"\t{SUITE}", ")", "", "replace ("]
    lines += [f"\t{module} => {path}" for module, path in sorted(replacements.items())]
    work = directory / "go.work"
    work.write_text("\n".join([*lines, ")", ""]))
    return work


@pytest.fixture(scope="module")
def go_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment `go` runs in: offline, in the workspace, no cgo."""
    _go()
    work = offline_workspace(tmp_path_factory.mktemp("go-workspace"))
    env = {
        **os.environ,
        "GOWORK": str(work),
        "GO111MODULE": "on",
        "GOFLAGS": "",
        "GOPROXY": "off",
        "GOSUMDB": "off",
        "CGO_ENABLED": "0",
    }
    env.setdefault("GOCACHE", str(Path.home() / ".cache" / "go-build"))
    return env


def go(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`go ARGS` in cwd; output captured (stderr into stdout)."""
    return subprocess.run(
        [_go(), *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def built(go_env: dict[str, str]) -> None:
    """Both modules build and pass `go vet`."""
    for module in (CLIENT, SUITE):
        vetted = go(["vet", "./..."], module, go_env)
        assert vetted.returncode == 0, f"go vet ./... in {module.relative_to(ROOT)} failed:\n{vetted.stdout}"


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedUpstream]:
    with ScriptedUpstream() as upstream:
        yield upstream


def _serve(data: Path, scripted: ScriptedUpstream, bench_url: str, *, keys: bool) -> ServiceProcess:
    """Model "m" on the scripted upstream, `bench/...` names on the bench upstream; with keys, tenants a
    and b."""
    text = (
        f'[providers.scripted]\nbase_url = "{scripted.base_url}"\n\n'
        f'[providers.bench]\nbase_url = "{bench_url}"\n\n'
        f'[models."{MODEL}"]\nprovider = "scripted"\nmodel = "scripted-model"\n'
    )
    if keys:
        text += f'\n[auth.tenants]\na = ["{hash_key(KEY_A)}"]\nb = ["{hash_key(KEY_B)}"]\n'
    data.mkdir(parents=True, exist_ok=True)
    config = data / "rejoinder.toml"
    config.write_text(text)
    return ServiceProcess(
        data_dir=data, extra_args=["--config", str(config)], api_key=KEY_A if keys else None
    ).start()


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, scripted: ScriptedUpstream, bench_upstream: str
) -> Iterator[ServiceProcess]:
    proc = _serve(tmp_path_factory.mktemp("go-open"), scripted, bench_upstream, keys=False)
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture(scope="module")
def keyed_service(
    tmp_path_factory: pytest.TempPathFactory, scripted: ScriptedUpstream, bench_upstream: str
) -> Iterator[ServiceProcess]:
    proc = _serve(tmp_path_factory.mktemp("go-keyed"), scripted, bench_upstream, keys=True)
    yield proc
    assert proc.stop() == 0, proc.log()


def go_test_results(output: str) -> dict[str, str]:
    """test name -> "pass", "fail" or "skip", from `go test -json`."""
    results: dict[str, str] = {}
    for line in output.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # a build error's text
        if isinstance(event, dict) and event.get("Test") and event.get("Action") in ("pass", "fail", "skip"):
            results[event["Test"]] = event["Action"]
    return results


def test_the_go_suite_passes_over_grpc_direct_and_through_envoy(
    built: None, go_env: dict[str, str], service: ServiceProcess, keyed_service: ServiceProcess
) -> None:
    env = {
        **go_env,
        "REJOINDER_TEST_DIRECT": service.grpc_target,
        "REJOINDER_TEST_ENVOY": service.envoy_target,
        "REJOINDER_TEST_KEYED_DIRECT": keyed_service.grpc_target,
        "REJOINDER_TEST_KEYED_ENVOY": keyed_service.envoy_target,
        "REJOINDER_TEST_MODEL": MODEL,
        "REJOINDER_TEST_SLOW_MODEL": SLOW_MODEL,
        "REJOINDER_TEST_KEY_A": KEY_A,
        "REJOINDER_TEST_KEY_B": KEY_B,
    }
    result = go(["test", "-count=1", "-json", "./..."], SUITE, env, timeout=600)
    results = go_test_results(result.stdout)
    failed = sorted(name for name, status in results.items() if status != "pass")
    output = "\n".join(
        json.loads(line).get("Output", "").rstrip("\n") if line.startswith("{") else line
        for line in result.stdout.splitlines()
    )
    assert result.returncode == 0 and not failed, f"go test failed ({failed}):\n{output}"
    missing = [name for name in GO_TESTS if name not in results]
    assert not missing, f"these tests did not run: {missing}\n{output}"


def test_hand_written_go_is_gofmt_clean(built: None) -> None:
    gofmt = Path(_go()).with_name("gofmt")
    files = [*(CLIENT / "rejoinder").glob("*.go"), *SUITE.glob("*.go")]
    assert files
    result = subprocess.run(
        [str(gofmt), "-l", *map(str, files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and not result.stdout, f"not gofmt-formatted (gofmt -w):\n{result.stdout}"
