"""A TCP relay in front of a local service that can cut the network: gRPC (Pub/Sub) goes through it as it
would through any load balancer, and `cut()` drops every connection and refuses new ones until `restore()`.

Stopping a Pub/Sub emulator to fake an outage loses its topics and subscriptions; recreating them races
with a publisher that is retrying (a message sent between the two creations reaches a topic with no
subscription and is dropped by design). Cutting the network keeps the emulator's state, as a real outage
keeps Google's.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

from tests.support.chroma_server import free_port

CHUNK = 65536


class TcpCut:
    def __init__(self, upstream_host: str) -> None:
        host, port = upstream_host.rsplit(":", 1)
        self._upstream = (host, int(port))
        self.port = free_port()
        self._cut = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, name="tcp-cut", daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> TcpCut:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopped.set()
        self.cut()
        self._thread.join(timeout=5)
        self._listener.close()

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        self._cut.clear()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            if self._cut.is_set():
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self._upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open |= {client, upstream}
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        """Until either side closes (or the cut closes both: the reset that ends the loop is expected)."""
        with contextlib.suppress(OSError):
            while data := source.recv(CHUNK):
                target.sendall(data)
        _close(source)
        _close(target)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
