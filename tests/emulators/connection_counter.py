"""A TCP listener that accepts and counts connections, then closes them: it stands in
for a proxy or an internal service that the gateway must never reach."""

from __future__ import annotations

import socket
import threading


class ConnectionCounter:
    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()
