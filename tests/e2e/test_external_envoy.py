"""Envoy as your own edge: `rejoinder envoy-config` in front of two `rejoinder serve --no-envoy` replicas
that share PostgreSQL, driven with the `openai` SDK; the YAML Envoy reads is the launcher's own config;
and `rejoinder serve` starts without gRPC's fork() warning."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI

from rejoinder.edge.envoy_config import render_envoy_config
from rejoinder.edge.envoy_process import envoy_binary
from rejoinder.edge.ports import free_port
from rejoinder.edge.standalone import EdgeOptions, envoy_settings, to_yaml
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import Script, ScriptedUpstream
from tests.unit.edge.test_standalone import TRICKY

HOST = "127.0.0.1"
CLUSTER = "rejoinder_grpc"
WORDS = [f"w{i} " for i in range(12)]
FORK_WARNING = "skipping fork() handlers"


class ExternalEnvoy:
    """The Envoy binary on a config file, with its admin on loopback; stopped by `stop()`."""

    def __init__(self, config: Path, admin_port: int) -> None:
        self.admin = f"http://{HOST}:{admin_port}"
        self.log_path = config.with_suffix(".log")
        with self.log_path.open("wb") as log:
            argv = [str(envoy_binary()), "-c", str(config), "--disable-hot-restart", "--concurrency", "1"]
            self.proc = subprocess.Popen(
                [*argv, "--log-level", "warn"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.wait_for(lambda: self._get("/ready") == "LIVE\n", "ready")

    def _get(self, path: str) -> str | None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"Envoy exited: {self.log_path.read_text(errors='replace')}")
        try:
            reply = httpx.get(self.admin + path, timeout=1)
        except httpx.HTTPError:
            return None
        return reply.text if reply.status_code == 200 else None

    def wait_for(self, done: Callable[[], bool], what: str, timeout_s: float = 20) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if done():
                return
            time.sleep(0.1)
        raise AssertionError(f"Envoy: not {what} after {timeout_s} s\n{self._get('/clusters')}")

    def host_stat(self, port: int, stat: str) -> str:
        """One of the cluster's per-host values from /clusters, e.g. `health_flags`, `rq_total`."""
        prefix = f"{CLUSTER}::{HOST}:{port}::{stat}::"
        lines = (self._get("/clusters") or "").splitlines()
        return next((line.removeprefix(prefix) for line in lines if line.startswith(prefix)), "")

    def bootstrap(self) -> dict[str, Any]:
        """The bootstrap as Envoy parsed it (from /config_dump)."""
        dump = json.loads(self._get("/config_dump") or "{}")
        found: dict[str, Any] = dump["configs"][0]["bootstrap"]
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@contextmanager
def running(config: Path, admin_port: int) -> Iterator[ExternalEnvoy]:
    envoy = ExternalEnvoy(config, admin_port)
    try:
        yield envoy
    finally:
        envoy.stop()


def envoy_config(path: Path, replicas: list[ServiceProcess], http_port: int, admin_port: int) -> Path:
    """`rejoinder envoy-config`, the real command, for these replicas."""
    argv = [sys.executable, "-m", "rejoinder", "envoy-config", "--output", str(path)]
    for replica in replicas:
        argv += ["--replica", replica.grpc_target]
    argv += ["--http-host", HOST, "--http-port", str(http_port), "--admin-port", str(admin_port)]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    return path


def _healthy(envoy: ExternalEnvoy, replica: ServiceProcess) -> bool:
    return envoy.host_stat(replica.grpc_port, "health_flags") == "healthy"


def _served(envoy: ExternalEnvoy, replica: ServiceProcess) -> int:
    return int(envoy.host_stat(replica.grpc_port, "rq_total") or 0)


def _resume_a_stream_left_early(sdk: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text=WORDS, delay_s=0.03))
    first_part = []
    with sdk.responses.create(model="m", input="hi", background=True, stream=True) as stream:
        for event in stream:
            first_part.append(event)
            if event.type == "response.output_text.delta":
                break  # the client goes away after the first delta
    response_id = first_part[0].response.id  # type: ignore[union-attr]
    last_seen = first_part[-1].sequence_number
    resumed = list(sdk.responses.retrieve(response_id, stream=True, starting_after=last_seen))
    assert [e.sequence_number for e in resumed] == list(range(last_seen + 1, last_seen + 1 + len(resumed)))
    assert resumed[-1].type == "response.completed"
    deltas = [e.delta for e in first_part + resumed if e.type == "response.output_text.delta"]  # type: ignore[union-attr]
    assert "".join(deltas) == "".join(WORDS)
    for _ in range(2):  # the replay, from either replica (round robin)
        replay = list(sdk.responses.retrieve(response_id, stream=True, starting_after=0))
        assert replay[-1].type == "response.completed" and replay[0].sequence_number == 1


def test_an_envoy_of_your_own_in_front_of_two_replicas_sharing_postgresql(
    tmp_path: Path, postgres_dsn: str, e2e_upstream: ScriptedUpstream
) -> None:
    e2e_upstream.reset()
    args = ["--upstream", e2e_upstream.base_url, "--store", postgres_dsn, "--background-lease-s", "2"]
    a = ServiceProcess(data_dir=tmp_path / "a", extra_args=args, envoy=False).start()
    b = ServiceProcess(data_dir=tmp_path / "b", extra_args=args, envoy=False).start()
    http_port, admin_port = free_port(HOST), free_port(HOST)
    config = envoy_config(tmp_path / "edge" / "envoy.yaml", [a, b], http_port, admin_port)
    try:
        assert "OpenAI REST" not in a.log() and not (tmp_path / "a" / "envoy").exists()  # gRPC only
        with running(config, admin_port) as envoy:
            envoy.wait_for(lambda: _healthy(envoy, a) and _healthy(envoy, b), "routing to both replicas")
            sdk = OpenAI(base_url=f"http://{HOST}:{http_port}/v1", api_key="x", max_retries=0)

            made = [sdk.responses.create(model="m", input=f"number {i}") for i in range(4)]
            assert [r.output_text for r in made] == [f"You said: number {i}" for i in range(4)]
            events = list(sdk.responses.create(model="m", input="streamed", stream=True))
            assert events[-1].type == "response.completed"
            assert events[-1].response.output_text == "You said: streamed"
            _resume_a_stream_left_early(sdk, e2e_upstream)
            assert _served(envoy, a) > 0 and _served(envoy, b) > 0  # round robin over both

            # A stops: Envoy's health checks take it out, and B serves what A made.
            assert a.stop() == 0, a.log()
            envoy.wait_for(lambda: not _healthy(envoy, a), "rid of A")
            served_by_b = _served(envoy, b)
            for r in made:
                assert sdk.responses.retrieve(r.id).output_text == r.output_text
            assert sdk.responses.retrieve(events[-1].response.id).output_text == "You said: streamed"
            chained = sdk.responses.create(model="m", input="and then", previous_response_id=made[0].id)
            assert chained.output_text == "You said: and then"
            _resume_a_stream_left_early(sdk, e2e_upstream)
            assert _served(envoy, b) >= served_by_b + len(made) + 4
    finally:
        a.stop()
        assert b.stop() == 0, b.log()
        e2e_upstream.reset()


def _stop_envoy_between(yaml_path: Path, json_path: Path, admin_port: int) -> tuple[Any, Any]:
    with running(yaml_path, admin_port) as envoy:
        from_yaml = envoy.bootstrap()
    with running(json_path, admin_port) as envoy:
        from_json = envoy.bootstrap()
    return from_yaml, from_json


def test_envoy_reads_the_yaml_as_the_data_it_was_rendered_from(tmp_path: Path) -> None:
    http_port, admin_port = free_port(HOST), free_port(HOST)
    options = EdgeOptions(
        replicas=(f"{HOST}:{free_port(HOST)}", f"localhost:{free_port(HOST)}"),
        http_port=http_port,
        admin_port=str(admin_port),
    )
    data = render_envoy_config(envoy_settings(options))
    data["node"] = {
        "id": "yaml-check",
        "cluster": "c",
        "metadata": {**TRICKY, "scalars": [0, -7, True, None]},
    }
    yaml_path, json_path = tmp_path / "envoy.yaml", tmp_path / "envoy.json"
    yaml_path.write_text(to_yaml(data))
    json_path.write_text(json.dumps(data))

    from_yaml, from_json = _stop_envoy_between(yaml_path, json_path, admin_port)

    assert from_yaml == from_json
    assert from_yaml["node"]["metadata"] == data["node"]["metadata"]


@pytest.mark.parametrize("operator_setting", [None, "true"])
def test_serve_starts_without_grpcs_fork_warning_unless_the_operator_turns_fork_support_on(
    tmp_path: Path,
    e2e_upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
    operator_setting: str | None,
) -> None:
    if operator_setting is None:
        monkeypatch.delenv("GRPC_ENABLE_FORK_SUPPORT", raising=False)
    else:
        monkeypatch.setenv("GRPC_ENABLE_FORK_SUPPORT", operator_setting)
    service = ServiceProcess(data_dir=tmp_path, extra_args=["--upstream", e2e_upstream.base_url]).start()
    try:
        log = service.log()
    finally:
        assert service.stop() == 0, service.log()

    if operator_setting is None:
        assert FORK_WARNING not in log and "fork_posix" not in log, log
    else:  # the control: the same start with gRPC's fork handlers on prints it (so the check can see it)
        assert FORK_WARNING in log, log
