"""A real HTTP listener on 127.0.0.1 that records what reaches it and can answer like an attacker."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# (connection socket, raw request head) -> None: writes whatever it likes, then the socket is closed.
Answer = Callable[[socket.socket, bytes], None]


@dataclass
class Listener:
    """What one listener saw: every connection, and each request head it could read."""

    url: str
    port: int
    connections: int = 0
    heads: list[bytes] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)


def json_answer(body: bytes, status: str = "200 OK") -> Answer:
    def answer(conn: socket.socket, head: bytes) -> None:
        conn.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + body
        )

    return answer


def drip_answer(body: bytes, every_s: float) -> Answer:
    """A valid response, one byte every `every_s` seconds (each read sees progress; the whole never ends)."""

    def answer(conn: socket.socket, head: bytes) -> None:
        conn.sendall(
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        for byte in body:
            conn.sendall(bytes([byte]))
            time.sleep(every_s)

    return answer


def huge_answer(total_bytes: int, chunk: bytes = b" " * 65536) -> Answer:
    """A JSON array padded with `total_bytes` of whitespace, streamed without Content-Length."""

    def answer(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[")
        sent = 0
        while sent < total_bytes:
            conn.sendall(chunk)
            sent += len(chunk)
        conn.sendall(b"]")

    return answer


def _read_request(conn: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        part = conn.recv(65536)
        if not part:
            return data, b""
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    while len(body) < length:
        part = conn.recv(65536)
        if not part:
            break
        body += part
    return head, body


@contextmanager
def listener(answer: Answer | None = None) -> Iterator[Listener]:
    """Serve on a free 127.0.0.1 port until the block ends; `answer` None = hang up after reading."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    seen = Listener(f"http://127.0.0.1:{port}", port)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(30)
                head, body = _read_request(conn)
                seen.heads.append(head)
                seen.bodies.append(body)
                if answer is not None:
                    answer(conn, head)
            except OSError:  # the client hung up: what an attacker's server sees when the victim gives up
                pass

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            seen.connections += 1
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()
