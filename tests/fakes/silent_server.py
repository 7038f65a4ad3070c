"""A TCP server on loopback that accepts connections and never answers: a hung remote (an LLM, a git server, a
proxy) as a client sees it. It reads and drops what it is sent, and closes every connection when it stops.

    with SilentServer() as silent:
        url = f"https://127.0.0.1:{silent.port}/acme/shop.git"
        ...
        assert silent.accepted >= 1
"""

from __future__ import annotations

import socket
import threading


class SilentServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.1)
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-server", daemon=True)
        self.accepted = 0

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def start(self) -> SilentServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._listener.close()

    def __enter__(self) -> SilentServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.setblocking(False)
            with self._lock:
                self._connections.append(connection)
                self.accepted += 1
            self._drain()

    def _drain(self) -> None:
        """Read what clients sent so far (their buffers never fill), answer nothing."""
        with self._lock:
            for connection in self._connections:
                try:
                    connection.recv(65536)
                except (BlockingIOError, OSError):
                    pass
