"""The e2e harness itself: a port taken between its pick and the service's bind costs a restart on fresh
ports, not the tests that share the service (once, in CI, a module's 198)."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from tests.e2e.service_process import ServiceProcess


def test_a_port_taken_before_the_service_binds_it_is_replaced(tmp_path: Path) -> None:
    with socket.socket() as holder:  # no SO_REUSEPORT: the service's own bind is refused
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        service = ServiceProcess(data_dir=tmp_path / "data", http_port=taken)
        try:
            service.start()
            assert service.http_port != taken
            assert httpx.get(f"{service.base_url}/models", timeout=5).status_code == 200
            assert "already in use" in (tmp_path / "data" / "service.log.1").read_text()
        finally:
            service.stop()


def test_an_exit_for_another_reason_is_the_tests_failure(tmp_path: Path) -> None:
    absent = tmp_path / "absent.toml"
    service = ServiceProcess(data_dir=tmp_path / "data", extra_args=["--config", str(absent)])
    with pytest.raises(RuntimeError, match="rejoinder serve exited"):
        service.start()
    assert not (tmp_path / "data" / "service.log.1").exists()
