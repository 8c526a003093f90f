"""feeds.http against real parts: loopback HTTP servers and the embedded Redis."""

from __future__ import annotations

import gzip
import resource
import socket
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import time_machine
from pytest_django.fixtures import Settings
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from feeds import http
from feeds.http import FetchError, fetch, parse_retry_after, politeness_key
from tests.feeds.servers import RawServer, respond, silent, trickle

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
MiB = 1024 * 1024
DEADLINE = 2.0
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fetch_settings(settings: Settings, redis_client: redis.Redis) -> Settings:
    """Loopback allowed, short deadline, no pacing, and an empty Redis for every test."""
    settings.FETCH_ALLOW_PRIVATE_IPS = True
    settings.FETCH_DEADLINE = DEADLINE
    settings.FETCH_CONNECT_TIMEOUT = 1.0
    settings.FETCH_MAX_BYTES = 1 * MiB
    settings.FETCH_HOST_INTERVALS = {"arxiv.org": 3.0, "default": 0.0}
    return settings


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Addresses httpx tried to connect to; no connection is actually made."""
    attempts: list[object] = []

    def refuse(address: object, *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise ConnectionRefusedError("the test allows no connections")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def fetch_error(url: str, **kwargs: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, **kwargs)
    return caught.value


# --- Success, validators and decoding --------------------------------------------------


def test_it_returns_the_body_and_the_validators_of_a_feed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        RSS,
        content_type="application/rss+xml",
        headers={
            "ETag": '"abc123"',
            "Last-Modified": "Mon, 02 Mar 2026 00:00:00 GMT",
            "Cache-Control": "public, max-age=3600",
        },
    )

    result = fetch(httpserver.url_for("/feed"))

    assert result.status == 200
    assert not result.not_modified
    assert result.body == RSS
    assert result.url == httpserver.url_for("/feed")
    assert result.etag == '"abc123"'
    assert result.last_modified == "Mon, 02 Mar 2026 00:00:00 GMT"
    assert result.max_age == 3600


def test_it_introduces_itself_and_asks_for_feeds(
    httpserver: HTTPServer, settings: Settings
) -> None:
    settings.SITE_URL = "https://hub.example.org"
    settings.FETCH_CONTACT_EMAIL = "ops@example.org"
    httpserver.expect_request("/feed").respond_with_data(RSS)

    fetch(httpserver.url_for("/feed"))

    request, _ = httpserver.log[0]
    assert request.headers["User-Agent"] == (
        "AcademicHub/0.1 (+https://hub.example.org; mailto:ops@example.org)"
    )
    assert "application/rss+xml" in request.headers["Accept"]
    assert "application/json" in request.headers["Accept"]
    assert request.headers["Accept-Encoding"] == "gzip, deflate"
    assert "If-None-Match" not in request.headers


@pytest.mark.parametrize(
    ("encoding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)]
)
def test_it_decodes_a_compressed_body(httpserver: HTTPServer, encoding: str, compress: Any) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        compress(RSS * 100), headers={"Content-Encoding": encoding}
    )

    assert fetch(httpserver.url_for("/feed")).body == RSS * 100


def test_a_body_that_is_not_what_its_content_encoding_says_is_a_network_error(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/feed").respond_with_data(RSS, headers={"Content-Encoding": "gzip"})

    error = fetch_error(httpserver.url_for("/feed"))

    assert error.kind == "network"
    assert error.message.startswith("localhost sent a damaged compressed body")


def test_it_sends_the_stored_validators_and_reports_304_as_not_modified(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(
        "/feed",
        headers={"If-None-Match": '"v1"', "If-Modified-Since": "Sun, 01 Mar 2026 00:00:00 GMT"},
    ).respond_with_data(b"", status=304)

    result = fetch(
        httpserver.url_for("/feed"), etag='"v1"', last_modified="Sun, 01 Mar 2026 00:00:00 GMT"
    )

    assert result.not_modified
    assert result.status == 304
    assert result.body == b""
    # A 304 without validators keeps the stored ones, so the caller can always save them.
    assert result.etag == '"v1"'
    assert result.last_modified == "Sun, 01 Mar 2026 00:00:00 GMT"


# --- Status codes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("120", NOW + timedelta(seconds=120)),
        ("Mon, 02 Mar 2026 11:00:00 GMT", datetime(2026, 3, 2, 11, 0, tzinfo=UTC)),
        ("after lunch", None),
        (str(10 * 24 * 3600), NOW + timedelta(hours=24)),
    ],
    ids=["seconds", "http-date", "garbage", "ten-days-capped"],
)
def test_a_429_says_when_to_come_back(
    httpserver: HTTPServer, retry_after: str, expected: datetime | None
) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "slow down", status=429, headers={"Retry-After": retry_after}
    )

    with time_machine.travel(NOW, tick=False):
        error = fetch_error(httpserver.url_for("/feed"))

    assert error.kind == "http_429"
    assert error.status == 429
    assert error.retry_after == expected
    assert error.message == "HTTP 429 Too Many Requests from localhost"


def test_retry_after_in_the_past_means_now_and_odd_numbers_mean_nothing() -> None:
    assert parse_retry_after("Sun, 01 Mar 2026 00:00:00 GMT", now=NOW) == NOW
    assert parse_retry_after("-5", now=NOW) is None
    assert parse_retry_after("1.5", now=NOW) is None
    assert parse_retry_after("\u00b2", now=NOW) is None  # a superscript two is no number
    assert parse_retry_after("", now=NOW) is None
    assert parse_retry_after(None, now=NOW) is None
    assert parse_retry_after("9" * 40, now=NOW) == NOW + timedelta(hours=24)


def test_a_503_is_a_server_error_with_its_retry_after(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "down", status=503, headers={"Retry-After": "60"}
    )

    with time_machine.travel(NOW, tick=False):
        error = fetch_error(httpserver.url_for("/feed"))

    assert error.kind == "http_5xx"
    assert error.retry_after == NOW + timedelta(seconds=60)
    assert error.message == "HTTP 503 Service Unavailable from localhost"


@pytest.mark.parametrize(
    ("status", "kind", "message"),
    [
        (500, "http_5xx", "HTTP 500 Internal Server Error from localhost"),
        (410, "gone", "HTTP 410 Gone from localhost"),
        (404, "http_4xx", "HTTP 404 Not Found from localhost"),
        (401, "http_4xx", "HTTP 401 Unauthorized from localhost"),
        (403, "http_4xx", "HTTP 403 Forbidden from localhost"),
    ],
)
def test_error_statuses_are_named_for_staff(
    httpserver: HTTPServer, status: int, kind: str, message: str
) -> None:
    httpserver.expect_request("/feed").respond_with_data("no", status=status)

    error = fetch_error(httpserver.url_for("/feed"))

    assert (error.kind, error.status, error.message) == (kind, status, message)
    assert error.retry_after is None


def test_a_4xx_keeps_the_start_of_its_body_for_the_caller(httpserver: HTTPServer) -> None:
    error_feed = b"<rss><channel><title>Error: Bad archive 'cs.XX'</title></channel></rss>"
    httpserver.expect_request("/feed").respond_with_data(error_feed, status=400)
    httpserver.expect_request("/huge").respond_with_data(b"x" * (MiB // 2), status=404)

    assert fetch_error(httpserver.url_for("/feed")).body == error_feed
    assert fetch_error(httpserver.url_for("/huge")).body == b""


def test_a_cloudflare_challenge_is_not_mistaken_for_a_feed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "<html><title>Just a moment...</title></html>",
        status=403,
        content_type="text/html",
        headers={"cf-mitigated": "challenge"},
    )

    error = fetch_error(httpserver.url_for("/feed"))

    assert error.kind == "html_not_feed"
    assert "bot challenge" in error.message


# --- Redirects ---------------------------------------------------------------------------


def redirect_chain(httpserver: HTTPServer, hops: int) -> str:
    """/r0 → /r1 → … → /feed, with `hops` redirects (relative Locations, mixed codes)."""
    codes = [301, 302, 303, 307, 308]
    for i in range(hops):
        target = f"/r{i + 1}" if i + 1 < hops else "/feed"
        httpserver.expect_request(f"/r{i}").respond_with_data(
            "", status=codes[i % len(codes)], headers={"Location": target}
        )
    httpserver.expect_request("/feed").respond_with_data(RSS)
    return httpserver.url_for("/r0")


def test_it_follows_five_redirects_to_the_feed(httpserver: HTTPServer) -> None:
    result = fetch(redirect_chain(httpserver, 5))

    assert result.body == RSS
    assert result.url == httpserver.url_for("/feed")


def test_it_gives_up_on_a_sixth_redirect(httpserver: HTTPServer) -> None:
    error = fetch_error(redirect_chain(httpserver, 6))

    assert error.kind == "redirects"
    assert "more than 5 redirects" in error.message
    assert [request.path for request, _ in httpserver.log] == [f"/r{i}" for i in range(6)]


def test_it_gives_up_on_a_redirect_loop(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=302, headers={"Location": "/a"})

    error = fetch_error(httpserver.url_for("/a"))

    assert error.kind == "redirects"
    assert len(httpserver.log) == 6


@pytest.mark.parametrize("target", ["ftp://example.org/feed.xml", "file:///etc/passwd"])
def test_it_refuses_a_redirect_away_from_http(httpserver: HTTPServer, target: str) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "", status=301, headers={"Location": target}
    )

    error = fetch_error(httpserver.url_for("/feed"))

    assert error.kind == "bad_url"
    assert "only http and https" in error.message


# --- Time limits -------------------------------------------------------------------------


def test_a_one_byte_per_second_trickle_ends_at_the_deadline() -> None:
    with RawServer(trickle) as server:
        started = time.monotonic()
        error = fetch_error(server.url())
        elapsed = time.monotonic() - started

    assert error.kind == "timeout"
    assert error.message == "no complete response from 127.0.0.1 within 2 s"
    assert DEADLINE <= elapsed < DEADLINE + 1.5


def test_a_connection_that_is_never_answered_times_out() -> None:
    with RawServer(silent) as server:
        started = time.monotonic()
        error = fetch_error(server.url())
        elapsed = time.monotonic() - started

    assert server.accepted == 1
    assert error.kind == "timeout"
    assert elapsed < DEADLINE + 1.5


def test_the_deadline_covers_the_whole_redirect_chain(httpserver: HTTPServer) -> None:
    def slow_redirect(request: Request) -> Response:
        time.sleep(0.75)
        hop = int(request.args.get("hop", "0"))
        return Response("", status=302, headers={"Location": f"/slow?hop={hop + 1}"})

    httpserver.expect_request("/slow").respond_with_handler(slow_redirect)
    started = time.monotonic()

    error = fetch_error(httpserver.url_for("/slow"))

    # Each hop is quick enough alone; the third one runs past the 2 s deadline.
    assert error.kind == "timeout"
    assert DEADLINE <= time.monotonic() - started < DEADLINE + 1.5


def test_a_refused_connection_is_a_network_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    # The port is free again, so nothing listens there.

    error = fetch_error(f"http://127.0.0.1:{port}/feed")

    assert error.kind == "network"
    assert "127.0.0.1" in error.message


# --- Size cap ----------------------------------------------------------------------------


def gzip_bomb(decoded_size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MiB)
    parts = [compressor.compress(zeros) for _ in range(decoded_size // MiB)]
    return b"".join([*parts, compressor.flush()])


def test_a_gzip_bomb_stops_at_the_cap_without_inflating_in_memory(settings: Settings) -> None:
    settings.FETCH_MAX_BYTES = cap = 4 * MiB
    bomb = gzip_bomb(256 * MiB)  # about 250 KiB on the wire
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close"
    # A raw server, because werkzeug's buffers (same process) would blur the measurement.
    with RawServer(respond(head, bomb)) as server:
        max_rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        tracemalloc.start()
        try:
            error = fetch_error(server.url())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        max_rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - max_rss_before

    assert error.kind == "too_large"
    assert error.message == "127.0.0.1 sent more than the 4,194,304-byte limit"
    assert max_rss_growth < 3 * cap
    # Max RSS only moves once the process passes its earlier peak; Python's count is exact.
    assert peak < 3 * cap


def test_a_body_announced_as_too_large_is_refused_before_reading(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/feed").respond_with_data(b"x" * (MiB + 1))

    error = fetch_error(httpserver.url_for("/feed"))

    assert error.kind == "too_large"
    assert (
        error.message == "localhost announced 1,048,577 bytes, more than the 1,048,576-byte limit"
    )


def test_a_body_without_length_is_cut_off_at_the_cap(httpserver: HTTPServer) -> None:
    def endless() -> Iterator[bytes]:
        while True:
            yield b"x" * 65536

    httpserver.expect_request("/feed").respond_with_response(Response(endless()))

    error = fetch_error(httpserver.url_for("/feed"))

    assert error.kind == "too_large"
    assert error.message == "localhost sent more than the 1,048,576-byte limit"


def test_a_body_of_exactly_the_cap_is_accepted(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(b"x" * MiB)

    assert len(fetch(httpserver.url_for("/feed")).body) == MiB


# --- URLs that are refused ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/feed.xml",
        "file:///etc/passwd",
        "gopher://example.org/",
        "javascript:alert(1)",
        "feeds/rss.xml",
        "http:///feed.xml",
    ],
)
def test_only_http_and_https_urls_are_fetched(url: str, connections: list[object]) -> None:
    error = fetch_error(url)

    assert error.kind == "bad_url"
    assert connections == []


def test_a_url_with_credentials_is_refused_without_echoing_them(
    httpserver: HTTPServer,
) -> None:
    url = f"http://reader:s3cret@127.0.0.1:{httpserver.port}/feed"

    error = fetch_error(url)

    assert error.kind == "bad_url"
    assert "s3cret" not in error.message
    assert httpserver.log == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.1/",
        "http://0x7f.1/",
        "http://2130706433/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://[fc00::1]/",
        "http://10.0.0.8/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[64:ff9b::7f00:1]/",
        "http://localhost/",
    ],
)
def test_private_and_reserved_addresses_are_refused_before_connecting(
    settings: Settings, connections: list[object], url: str
) -> None:
    settings.FETCH_ALLOW_PRIVATE_IPS = False

    error = fetch_error(url)

    assert error.kind == "bad_url"
    assert "private or reserved address" in error.message
    assert connections == []


def test_a_loopback_feed_server_is_never_contacted_when_private_ips_are_refused(
    httpserver: HTTPServer, settings: Settings
) -> None:
    settings.FETCH_ALLOW_PRIVATE_IPS = False
    httpserver.expect_request("/feed").respond_with_data(RSS)

    error = fetch_error(f"http://127.0.0.1:{httpserver.port}/feed")

    assert error.kind == "bad_url"
    assert httpserver.log == []


def fake_dns(monkeypatch: pytest.MonkeyPatch, host: str, *addresses: str) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(name: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if name != host:
            return real(name, port, *args, **kwargs)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_with_any_private_address_is_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, connections: list[object]
) -> None:
    settings.FETCH_ALLOW_PRIVATE_IPS = False
    fake_dns(monkeypatch, "feeds.example", "93.184.215.14", "10.1.2.3")

    error = fetch_error("http://feeds.example/rss")

    assert error.kind == "bad_url"
    assert error.message == (
        "refused feeds.example: it resolves to 10.1.2.3, a private or reserved address"
    )
    assert connections == []


def test_a_name_with_only_public_addresses_is_let_through(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, connections: list[object]
) -> None:
    settings.FETCH_ALLOW_PRIVATE_IPS = False
    fake_dns(
        monkeypatch, "feeds.example", "93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
    )

    error = fetch_error("http://feeds.example/rss")

    # The check passed: httpx went on to connect to the checked addresses, in order (and
    # the test refused each connection).
    assert error.kind == "network"
    assert connections == [
        ("93.184.215.14", 80),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", 80),
    ]


def test_a_redirect_to_a_private_address_is_refused_before_the_second_hop(
    httpserver: HTTPServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.FETCH_ALLOW_PRIVATE_IPS = False
    check = http._addresses

    def allow_first_hop(host: str, port: int) -> tuple[str, ...]:
        if host == "localhost":  # the first hop is let through for this test only
            return ("127.0.0.1",)
        return check(host, port)

    monkeypatch.setattr(http, "_addresses", allow_first_hop)
    secret = f"http://127.0.0.1:{httpserver.port}/secret"
    httpserver.expect_request("/feed").respond_with_data(
        "", status=302, headers={"Location": secret}
    )
    httpserver.expect_request("/secret").respond_with_data("internal")

    error = fetch_error(httpserver.url_for("/feed"))

    assert error.kind == "bad_url"
    assert [request.path for request, _ in httpserver.log] == ["/feed"]


# --- Politeness --------------------------------------------------------------------------


def test_all_arxiv_hosts_share_one_politeness_key() -> None:
    assert politeness_key("rss.arxiv.org") == politeness_key("export.arxiv.org") == "arxiv.org"
    assert politeness_key("arxiv.org") == "arxiv.org"
    assert politeness_key("Export.ArXiv.org.") == "arxiv.org"
    assert politeness_key("biorxiv.org") == "biorxiv.org"
    assert politeness_key("www.nature.com") == "www.nature.com"


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    """A loopback server that answers requests in parallel (the shared one does not)."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_requests_to_one_host_are_serialised_and_spaced_while_other_hosts_go_ahead(
    threaded_server: HTTPServer, settings: Settings
) -> None:
    settings.FETCH_HOST_INTERVALS = {"default": 0.5}
    visits: dict[str, tuple[float, float]] = {}

    def slow_feed(request: Request) -> Response:
        started = time.monotonic()
        time.sleep(0.2)
        visits[request.args["n"]] = (started, time.monotonic())
        return Response(RSS)

    threaded_server.expect_request("/feed").respond_with_handler(slow_feed)
    port = threaded_server.port
    urls = {
        "a": f"http://127.0.0.1:{port}/feed?n=a",
        "b": f"http://127.0.0.1:{port}/feed?n=b",
        "other": f"http://localhost:{port}/feed?n=other",
    }
    began = time.monotonic()

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(fetch, urls.values()))

    assert all(result.body == RSS for result in results)
    first, second = sorted([visits["a"], visits["b"]])
    assert second[0] - first[1] >= 0.5  # one at a time, 0.5 s from the end of one to the next
    assert visits["other"][0] - began < 0.3  # a different host was not held up


def test_a_turn_left_by_a_crashed_worker_expires(
    httpserver: HTTPServer, redis_client: redis.Redis
) -> None:
    redis_client.set("fetch:lock:localhost", "crashed-worker", px=400)
    httpserver.expect_request("/feed").respond_with_data(RSS)
    started = time.monotonic()

    assert fetch(httpserver.url_for("/feed")).body == RSS
    assert time.monotonic() - started >= 0.35


def test_waiting_for_a_busy_host_is_bounded(
    httpserver: HTTPServer, redis_client: redis.Redis, settings: Settings
) -> None:
    settings.FETCH_DEADLINE = 0.5
    settings.FETCH_HOST_INTERVALS = {"default": 0.0}
    redis_client.set("fetch:lock:localhost", "another-worker")
    httpserver.expect_request("/feed").respond_with_data(RSS)
    started = time.monotonic()

    error = fetch_error(httpserver.url_for("/feed"))

    assert error.kind == "timeout"
    assert "for a turn at localhost" in error.message
    # A slot is held for at most 3 deadlines; a waiter outlasts that by a second.
    assert 2.5 <= time.monotonic() - started < 3.0
    assert httpserver.log == []


def test_a_failed_fetch_frees_the_host_and_still_spaces_the_next_request(
    httpserver: HTTPServer, redis_client: redis.Redis, settings: Settings
) -> None:
    settings.FETCH_HOST_INTERVALS = {"default": 0.3}
    httpserver.expect_request("/feed").respond_with_data("oops", status=500)

    fetch_error(httpserver.url_for("/feed"))

    assert not redis_client.exists("fetch:lock:localhost")
    assert 0 < redis_client.pttl("fetch:next:localhost") <= 300
    started = time.monotonic()
    fetch_error(httpserver.url_for("/feed"))
    assert time.monotonic() - started >= 0.25


def test_without_redis_nothing_is_fetched(httpserver: HTTPServer, settings: Settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    httpserver.expect_request("/feed").respond_with_data(RSS)

    error = fetch_error(httpserver.url_for("/feed"))

    assert error.kind == "network"
    assert error.message.startswith("Redis is unreachable, so localhost was not fetched")
    assert httpserver.log == []
