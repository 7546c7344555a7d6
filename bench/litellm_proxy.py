"""LiteLLM's proxy as a system to compare with: its own virtualenv, its config, its start.

The proxy is installed on first use into `bench/.litellm-venv` (git-ignored), never into the project's
virtualenv: `python -m venv`, then `pip install 'litellm[proxy]==<LITELLM_VERSION>'` (the newest release
whose `proxy` extra installs from PyPI here: later ones need a `litellm-proxy` package that is not
published, or a `litellm-proxy-extras` release that is not out yet). A venv holding another version is
upgraded in place.

Configuration (`config_yaml`): one entry per bench model name (`bench-16-0`, `bench-64-0`), each
`hosted_vllm/<name>` with `api_base` the bench upstream and `use_chat_completions_api: true`. Without
that flag LiteLLM sends `POST /v1/responses` on to the upstream (its `hosted_vllm` and `openai`
providers both have a native Responses config), which the bench upstream does not serve; with it,
LiteLLM's Responses endpoint translates to chat completions and back, which is what Rejoinder does.
A master key is required (LiteLLM refuses to start without one): a random one per run, sent by the
load generator as `Authorization: Bearer`. `LITELLM_LOCAL_MODEL_COST_MAP=True` keeps it from fetching
its price list from the network at start. Otherwise it runs as installed: uvicorn, `--num_workers N`
worker processes accepting on one listening socket, its default logging (an access line per request).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.procs import LOOPBACK, BenchError, Child, free_port, start_child

LITELLM_VERSION = "1.106.12"
VENV = Path(__file__).resolve().parent / ".litellm-venv"
INSTALL_TIMEOUT_S = 900
START_TIMEOUT_S = 120.0
READY_LINE = "Application startup complete"
WORKER_LINE = re.compile(r"Started server process \[(\d+)\]")  # uvicorn's, one per worker
STREAM_DELTA = b'"type":"response.output_text.delta"'  # LiteLLM's SSE has `data:` lines only


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def installed_version(venv: Path = VENV) -> str | None:
    """The litellm version in `venv`, or None (no venv, or no litellm in it)."""
    if not _python(venv).exists():
        return None
    code = "import importlib.metadata as m; print(m.version('litellm'))"
    done = subprocess.run([str(_python(venv)), "-c", code], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def ensure_venv(log: Callable[[str], None], venv: Path = VENV) -> Path:
    """The `litellm` executable of a venv holding LITELLM_VERSION, creating or upgrading it first."""
    if installed_version(venv) != LITELLM_VERSION:
        if not _python(venv).exists():
            log(f"creating {venv} for LiteLLM (once)")
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        log(f"installing litellm[proxy]=={LITELLM_VERSION} into {venv} (a minute or two, once)")
        pip = [str(_python(venv)), "-m", "pip", "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"]
        done = subprocess.run(pip, capture_output=True, text=True, check=False, timeout=INSTALL_TIMEOUT_S)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-10:])
            raise BenchError(f"pip could not install litellm[proxy]=={LITELLM_VERSION}:\n{tail}")
    return venv / "bin" / "litellm"


def config_yaml(models: Sequence[str], upstream_port: int) -> str:
    """The proxy's config: each bench model routed to the bench upstream's chat completions."""
    lines = ["model_list:"]
    for model in models:
        lines += [
            f"  - model_name: {model}",
            "    litellm_params:",
            f"      model: hosted_vllm/{model}",
            f"      api_base: http://{LOOPBACK}:{upstream_port}/v1",
            "      api_key: none",
            "      use_chat_completions_api: true",
        ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class LiteLLM:
    """A running proxy: its process (the root of its tree), port and the header its key needs."""

    child: Child
    port: int
    auth_header: str


def start(
    executable: Path,
    workdir: Path,
    workers: int,
    models: Sequence[str],
    upstream_port: int,
    cpus: frozenset[int],
) -> LiteLLM:
    """`litellm --config ... --num_workers N` on a free loopback port (returns without waiting)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "litellm.yaml"
    config.write_text(config_yaml(models, upstream_port))
    port = free_port()
    key = f"sk-{secrets.token_hex(16)}"
    argv = [str(executable), "--config", str(config), "--host", LOOPBACK, "--port", str(port)]
    argv += ["--num_workers", str(workers)]
    env = {**os.environ, "LITELLM_MASTER_KEY": key, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    child = start_child(f"litellm --num_workers {workers}", argv, workdir / "litellm.log", cpus, env)
    return LiteLLM(child, port, f"Authorization: Bearer {key}\r\n")


def wait_ready(proxy: LiteLLM, workers: int, timeout_s: float = START_TIMEOUT_S) -> None:
    """Until each of the `workers` processes has logged its start-up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proxy.child.proc.poll() is not None:
            raise BenchError(f"{proxy.child.name} exited:\n{proxy.child.log_tail()}")
        text = proxy.child.log_path.read_text(errors="replace") if proxy.child.log_path.exists() else ""
        if text.count(READY_LINE) >= workers:
            return
        time.sleep(0.2)
    raise BenchError(f"{proxy.child.name} did not start within {timeout_s:.0f} s:\n{proxy.child.log_tail()}")


def worker_pids(proxy: LiteLLM) -> tuple[int, ...]:
    """The pids of the processes that serve requests (uvicorn logs each one's start)."""
    text = proxy.child.log_path.read_text(errors="replace")
    return tuple(int(pid) for pid in WORKER_LINE.findall(text))
