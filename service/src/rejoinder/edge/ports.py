"""Check that a TCP port is really ours before a server binds it.

grpc.aio (and Envoy, unless told otherwise) binds with SO_REUSEPORT, so a second server on a port
already in use "starts" fine and silently shares the traffic (DESIGN.md section 2). These helpers
probe with a plain socket that does *not* set SO_REUSEPORT: the kernel then refuses the bind while
any listener, SO_REUSEPORT or not, holds the port. The check is advisory (another process can take
the port between the probe and the real bind), so a launcher checks right before it binds.
"""

from __future__ import annotations

import socket


def _addresses(host: str, port: int) -> list[tuple[socket.AddressFamily, tuple[str, int]]]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [(family, (str(sockaddr[0]), port)) for family, _, _, _, sockaddr in infos]


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on `host:port` (every address `host` resolves to)."""
    for family, address in _addresses(host, port):
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # SO_REUSEADDR, like every server, so a port in TIME_WAIT counts as free; a listening
            # socket still makes the bind fail on Linux.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError:
                return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port on `host` that nothing listens on right now (the kernel's pick)."""
    family, address = _addresses(host, 0)[0]
    for _ in range(20):
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind(address)
            port = int(probe.getsockname()[1])
        if port_is_free(host, port):
            return port
    raise OSError(f"no free TCP port found on {host}")
