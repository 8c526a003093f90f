"""feeds.http connects to the addresses it checked: one lookup per hop, never a second.

The resolver is the one thing faked here (a DNS server that changes its answer between
two questions cannot be run on loopback); servers, sockets and TLS are real.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from pytest_django.fixtures import Settings
from pytest_httpserver import HTTPServer

from feeds import http
from feeds.http import FetchError, fetch

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
PUBLIC = "93.184.215.14"


@pytest.fixture(autouse=True)
def fetch_settings(settings: Settings, redis_client: redis.Redis) -> Settings:
    settings.FETCH_DEADLINE = 3.0
    settings.FETCH_CONNECT_TIMEOUT = 1.0
    settings.FETCH_HOST_INTERVALS = {"default": 0.0}
    return settings


class RebindingResolver:
    """Answers `name` with each of `answers` in turn (the last one from then on)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, *answers: str) -> None:
        self.name = name
        self.answers = list(answers)
        self.questions = 0
        self.real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != self.name:
            return self.real(host, port, *args, **kwargs)
        address = self.answers[min(self.questions, len(self.answers) - 1)]
        self.questions += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Addresses a connection was attempted to; none is made."""
    attempts: list[object] = []

    def refuse(address: object, *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise ConnectionRefusedError("the test allows no connections")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def test_a_name_that_rebinds_to_loopback_after_the_check_is_never_reached_there(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, connections: list[object]
) -> None:
    settings.FETCH_ALLOW_PRIVATE_IPS = False
    dns = RebindingResolver(monkeypatch, "rebind.example", PUBLIC, "127.0.0.1")

    with pytest.raises(FetchError) as caught:
        fetch("http://rebind.example:8080/feed")

    # Checked once, connected to what was checked, never asked the resolver again.
    assert connections == [(PUBLIC, 8080)]
    assert dns.questions == 1
    assert caught.value.kind == "network"


def test_the_pinned_request_keeps_the_host_name_in_the_host_header_and_the_url(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, feed_server: HTTPServer
) -> None:
    settings.FETCH_ALLOW_PRIVATE_IPS = True  # the local server stands in for the public one
    dns = RebindingResolver(monkeypatch, "feeds.example", "127.0.0.1")
    port = feed_server.port
    feed_server.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": "/feed"}
    )
    feed_server.expect_request("/feed").respond_with_data(RSS)

    result = fetch(f"http://feeds.example:{port}/old")

    assert result.body == RSS
    # The relative redirect is read against the name, not the pinned address.
    assert result.url == f"http://feeds.example:{port}/feed"
    assert [request.headers["Host"] for request, _ in feed_server.log] == [
        f"feeds.example:{port}",
        f"feeds.example:{port}",
    ]
    # One lookup per hop, none by the connection itself.
    assert dns.questions == 2


def test_a_redirect_to_a_rebinding_name_is_pinned_to_its_first_answer(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, feed_server: HTTPServer
) -> None:
    settings.FETCH_ALLOW_PRIVATE_IPS = False
    port = feed_server.port
    check = http._addresses

    def first_hop_on_loopback(host: str, port: int) -> tuple[str, ...]:
        # The local server stands in for a public feed host on the first hop only.
        return ("127.0.0.1",) if host == "first.example" else check(host, port)

    monkeypatch.setattr(http, "_addresses", first_hop_on_loopback)
    dns = RebindingResolver(monkeypatch, "rebind.example", PUBLIC, "127.0.0.1")
    attempts: list[object] = []
    real_connect = socket.create_connection

    def connect(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address)
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError("no public network in tests")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", connect)
    feed_server.expect_request("/feed").respond_with_data(
        "", status=302, headers={"Location": f"http://rebind.example:{port}/secret"}
    )
    feed_server.expect_request("/secret").respond_with_data("internal")

    with pytest.raises(FetchError) as caught:
        fetch(f"http://first.example:{port}/feed")

    # The second hop went to the address it checked, and the loopback secret was never asked.
    assert attempts == [("127.0.0.1", port), (PUBLIC, port)]
    assert dns.questions == 1
    assert [request.path for request, _ in feed_server.log] == ["/feed"]
    assert caught.value.kind == "network"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for feeds.example (which the client must not trust)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=feeds.example", "-addext", "subjectAltName=DNS:feeds.example",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[int, list[str | None]]]:
    """A TLS listener on loopback that records the server name each client asked for."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    names: list[str | None] = []

    def remember(sock: Any, name: str | None, ctx: Any) -> None:
        names.append(name)

    context.sni_callback = remember
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        # The client hangs up on a certificate it does not trust.
        with conn, contextlib.suppress(ssl.SSLError, OSError):
            context.wrap_socket(conn, server_side=True).close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], names
    listener.close()
    thread.join(timeout=5)


def test_tls_to_a_pinned_address_names_the_host_and_still_checks_its_certificate(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tls_server: tuple[int, list[str | None]]
) -> None:
    settings.FETCH_ALLOW_PRIVATE_IPS = True
    port, names = tls_server
    RebindingResolver(monkeypatch, "feeds.example", "127.0.0.1")

    with pytest.raises(FetchError) as caught:
        fetch(f"https://feeds.example:{port}/feed")

    # SNI carried the name, not 127.0.0.1; the untrusted certificate was refused.
    assert names == ["feeds.example"]
    assert caught.value.kind == "network"
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.message


@pytest.fixture
def silent_address(feed_server: HTTPServer) -> Iterator[str]:
    """127.0.0.2 on the feed server's port, where a connection is never answered.

    The listener's backlog is full, so the kernel drops every further SYN: the client
    waits as it would for an address whose packets vanish, without any outside network.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.2", feed_server.port))
    listener.listen(0)
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.2", feed_server.port))
        fillers.append(filler)
    yield "127.0.0.2"
    for filler in fillers:
        filler.close()
    listener.close()


def test_an_address_that_times_out_on_connect_gives_way_to_the_next_one(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: HTTPServer,
    silent_address: str,
) -> None:
    settings.FETCH_ALLOW_PRIVATE_IPS = True
    settings.FETCH_CONNECT_TIMEOUT = 0.3
    real = socket.getaddrinfo

    def both(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "dual.example":
            return real(host, port, *args, **kwargs)
        # Like a name whose first (IPv6) address drops packets and whose second answers.
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in (silent_address, "127.0.0.1")
        ]

    monkeypatch.setattr(socket, "getaddrinfo", both)
    feed_server.expect_request("/feed").respond_with_data(RSS)

    result = fetch(f"http://dual.example:{feed_server.port}/feed")

    assert result.body == RSS
    assert [request.headers["Host"] for request, _ in feed_server.log] == [
        f"dual.example:{feed_server.port}"
    ]
