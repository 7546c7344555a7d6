"""Fixtures for the MCP client tests: real MCP servers (tests/mcp_servers.py) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mcp_servers import TRANSPORTS, McpTestServer, mcp_server_factory, toolbox_server

__all__ = ["mcp_server", "mcp_server_factory"]


@pytest.fixture(scope="module", params=TRANSPORTS)
def mcp_server(request: pytest.FixtureRequest) -> Iterator[McpTestServer]:
    """The toolbox server, once per transport and module; `mcp_server.url` is its endpoint."""
    with McpTestServer(toolbox_server(), request.param) as server:
        yield server
