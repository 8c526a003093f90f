"""Raw-socket servers on loopback for misbehaviour pytest-httpserver cannot script."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType

Handler = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """Accepts connections on 127.0.0.1 and runs `handler(conn, stopping)` for each, in a thread."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.stopping = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        self.threads: list[threading.Thread] = []
        self.accepted = 0

    def url(self, path: str = "/feed") -> str:
        """The http URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> RawServer:
        accept_thread = threading.Thread(target=self._accept, daemon=True)
        accept_thread.start()
        self.threads.append(accept_thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stopping.set()
        for thread in list(self.threads):
            thread.join(timeout=5)
        self.listener.close()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        # The client hanging up mid-answer is what these tests provoke.
        with conn, contextlib.suppress(OSError):
            self.handler(conn, self.stopping)


def read_request(conn: socket.socket) -> bytes:
    """Read one request's head (these tests only send GETs, which have no body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def respond(head: bytes, body: bytes) -> Handler:
    """A handler that sends `head` and `body` as they are, allocating nothing per request."""

    def handler(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        conn.sendall(head + b"\r\n\r\n")
        conn.sendall(body)

    return handler


def trickle(conn: socket.socket, stopping: threading.Event) -> None:
    """Answer at once, then send the body one byte per second, forever."""
    read_request(conn)
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n"
    )
    while not stopping.is_set():
        conn.sendall(b"<")
        stopping.wait(1.0)


def silent(conn: socket.socket, stopping: threading.Event) -> None:
    """Accept the connection and the request, and never say a word."""
    read_request(conn)
    stopping.wait(30)
