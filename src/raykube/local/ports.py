"""Free loopback ports, chosen by the kernel so that parallel clusters never collide."""

from __future__ import annotations

import socket


def free_ports(count: int) -> list[int]:
    """Return `count` distinct ports that are free on 127.0.0.1 right now.

    All sockets stay open until every port is picked, so the kernel cannot hand out one port twice.
    A port can still be taken by someone else before our process binds it; the caller's health
    check then fails with the component's log, which names the address in use.
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
