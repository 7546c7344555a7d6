"""The data directory is one server's alone: a second server on it refuses to start, a crash does not
lock it forever, and what is kept there is readable by its owner only. `--http-host localhost` works."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import httpx
from openai import OpenAI

from rejoinder.edge.ports import free_port
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import ScriptedUpstream


def _config(data: Path, upstream: ScriptedUpstream) -> list[str]:
    config = data / "rejoinder.toml"
    config.write_text(f'[providers.scripted]\nbase_url = "{upstream.base_url}"\n')
    return ["--config", str(config)]


def _second_serve(data: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "rejoinder", "serve", "--data-dir", str(data), *args]
    command += ["--http-port", str(free_port()), "--grpc-port", str(free_port())]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_second_server_on_the_same_data_dir_refuses_to_start(
    tmp_path: Path, e2e_upstream: ScriptedUpstream
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    args = _config(tmp_path, e2e_upstream)
    first = ServiceProcess(data_dir=data, extra_args=args).start()
    try:
        assert first.proc is not None
        second = _second_serve(data, args)
        assert second.returncode == 2, second.stdout + second.stderr
        assert f"is in use by another rejoinder serve (pid {first.proc.pid})" in second.stderr
        assert "rejoinder: ready" not in second.stdout
        # the first one is unharmed
        sdk = OpenAI(base_url=first.base_url, api_key="x", max_retries=0)
        assert sdk.responses.create(model="scripted/m", input="still here").status == "completed"
    finally:
        assert first.stop() == 0, first.log()


def test_a_crashed_server_does_not_keep_the_data_dir(tmp_path: Path, e2e_upstream: ScriptedUpstream) -> None:
    data = tmp_path / "data"
    args = _config(tmp_path, e2e_upstream)
    crashed = ServiceProcess(data_dir=data, extra_args=args).start()
    assert crashed.proc is not None
    crashed.proc.kill()  # SIGKILL: no clean-up ran
    crashed.proc.wait()
    again = ServiceProcess(data_dir=data, extra_args=args).start()
    try:
        sdk = OpenAI(base_url=again.base_url, api_key="x", max_retries=0)
        assert sdk.responses.create(model="scripted/m", input="back").status == "completed"
    finally:
        assert again.stop() == 0, again.log()


def test_the_data_dir_and_the_database_are_the_owners_only(
    tmp_path: Path, e2e_upstream: ScriptedUpstream
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    proc = ServiceProcess(data_dir=data, extra_args=_config(tmp_path, e2e_upstream)).start()
    try:
        sdk = OpenAI(base_url=proc.base_url, api_key="x", max_retries=0)
        sdk.responses.create(model="scripted/m", input="kept")  # the database has a write-ahead log now
        assert _mode(data) == 0o700
        kept = {p.name: _mode(p) for p in data.iterdir() if p.name.startswith("rejoinder.db")}
        assert set(kept) >= {"rejoinder.db", "rejoinder.db-wal", "rejoinder.db-shm"}
        assert set(kept.values()) == {0o600}, kept
        assert _mode(data / "reasoning.key") == 0o600
        assert _mode(data / "replica.id") == 0o600
    finally:
        assert proc.stop() == 0, proc.log()


def test_the_http_host_may_be_a_name(tmp_path: Path, e2e_upstream: ScriptedUpstream) -> None:
    args = [*_config(tmp_path, e2e_upstream), "--http-host", "localhost"]
    proc = ServiceProcess(data_dir=tmp_path / "data", extra_args=args).start()
    try:
        url = f"http://localhost:{proc.http_port}/v1"
        sdk = OpenAI(base_url=url, api_key="x", max_retries=0)
        assert sdk.responses.create(model="scripted/m", input="by name").status == "completed"
        assert httpx.get(f"{url}/models").status_code == 200
        assert "OpenAI REST on http://localhost:" in proc.log()
    finally:
        assert proc.stop() == 0, proc.log()
