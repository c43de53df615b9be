"""``straum api --processes N``: N API processes serving one port.

Each process binds the public port with SO_REUSEPORT (the kernel spreads connections over
them) and a loopback port of its own, over which the others pass it the queue requests of the
actors it owns (connectors/http/owners.py). This parent starts them, restarts one that dies
(with backoff), and stops them on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import socket
import time

from schemas.settings import Settings
from straum.supervisor import Child, say


def api_children(host: str, port: int, count: int, ports: list[int]) -> list[Child]:
    """The API processes of one port, numbered, each knowing every loopback port."""
    listing = ",".join(str(p) for p in ports)
    return [Child(f"api-{i}", ["api", "--host", host, "--port", str(port)],
                  {"STRAUM_API_PROCESS_INDEX": str(i), "STRAUM_API_PROCESS_PORTS": listing,
                   "STRAUM_API_PROCESSES": "1"}, die_with_parent=True)
            for i in range(count)]


def shared_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other processes may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_api_processes(settings: Settings, host: str, port: int, count: int) -> int:
    """Serve ``host:port`` with ``count`` processes until stopped."""
    from connectors.broker.embedded import free_port

    ports = [free_port() for _ in range(count)]
    children = api_children(host, port, count, ports)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    env = dict(os.environ)
    for child in children:
        child.start(env, None)
    say(f"{count} API processes on {host}:{port}")
    try:
        while not stopping:
            now = time.monotonic()
            for child in children:
                if child.alive() or stopping:
                    continue
                if child.next_start == 0.0:
                    child.next_start = now + min(30.0, 2.0 ** min(child.restarts, 5))
                    say(f"{child.name} exited; restarting")
                elif now >= child.next_start:
                    child.restarts += 1
                    child.next_start = 0.0
                    child.start(env, None)
            time.sleep(0.5)
    finally:
        for child in reversed(children):
            child.stop()
    return 0
