"""The only HTTP client: fetches one feed URL politely, safely and within hard limits.

Shaped like miniflux's fetcher: a request builder (URL checks, headers, a turn at the
host) and a response handler (status mapping, size cap, cache headers). Every failure
leaves as a FetchError whose kind is an ErrorKind name.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import socket
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import redis
from django.conf import settings
from django.utils import timezone

from feeds.sources.base import ErrorKind

logger = logging.getLogger(__name__)

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/feed+json;q=0.9, application/json;q=0.9, application/xml;q=0.8, "
    "text/xml;q=0.8, */*;q=0.5"
)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_AFTER_CAP = timedelta(hours=24)
# How much of a 4xx response's body is kept for the caller to look at.
ERROR_BODY_BYTES = 64 * 1024
# Decode compressed bodies this many bytes at a time, so a gzip bomb never inflates a
# whole network chunk (up to ~1000x its size) in one call before the cap is checked.
DECODE_STEP = 64 * 1024
# How often a fetch waiting behind another one on the same host asks Redis again.
TURN_POLL_SECONDS = 0.05
# How often a fetch waiting for an unreachable Redis (the politeness clock) tries it again.
REDIS_RETRY_SECONDS = 0.5
# NAT64 gateways turn 64:ff9b::a.b.c.d into a.b.c.d, so treat it as the IPv4 address.
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


@dataclass(slots=True)
class FetchResult:
    """A successful response: the body of a 2xx, or an empty 304."""

    url: str
    status: int
    body: bytes
    etag: str
    last_modified: str
    max_age: int | None

    @property
    def not_modified(self) -> bool:
        """True when the server answered 304: nothing changed since the stored validators."""
        return self.status == 304


class FetchError(Exception):
    """A fetch that failed; `kind` is an ErrorKind name, `message` is shown to staff."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: datetime | None = None,
        body: bytes = b"",
    ) -> None:
        # args=(kind, message) so Celery can rebuild the exception from its args.
        super().__init__(kind, message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after
        # The start of a 4xx response's body: arXiv explains a 400 in an error feed.
        self.body = body

    def __str__(self) -> str:
        return self.message


def fetch(url: str, *, etag: str = "", last_modified: str = "") -> FetchResult:
    """GET `url` within the deadline, size cap and redirect limit, waiting for the host's turn."""
    headers = _request_headers(etag, last_modified)
    # The deadline is for the hosts' share of the time: waiting for our turn at a host
    # (politeness) pushes it back, and that waiting has its own, separate bound.
    deadline = time.monotonic() + settings.FETCH_DEADLINE
    # Outlast a lock left behind by a worker killed mid-fetch: otherwise its redelivered
    # poll would give up just before the dead lock expires.
    wait_budget = _turn_lock_ttl() + max(settings.FETCH_HOST_INTERVALS.values()) + 1
    current = _checked_hop(url)
    # trust_env=False: no proxy settings or .netrc credentials picked up from the
    # environment; what is fetched, and how, is decided here alone.
    with httpx.Client(trust_env=False, follow_redirects=False) as client:
        for _hop in range(settings.FETCH_MAX_REDIRECTS + 1):
            host = current.url.host
            with _host_turn(politeness_key(host), wait_budget) as waited:
                deadline += waited
                wait_budget -= waited
                with _as_fetch_errors(host), _open(client, current, headers, deadline) as response:
                    location = _redirect_location(response, current.url)
                    if location is None:
                        return _handle_response(
                            response, current.url, deadline, etag, last_modified
                        )
            # Every hop gets the same scheme, credential and address checks as the first,
            # and is resolved (once) for itself.
            current = _checked_hop(location)
    raise FetchError(
        ErrorKind.TOO_MANY_REDIRECTS,
        f"more than {settings.FETCH_MAX_REDIRECTS} redirects, starting at {url}",
    )


def parse_retry_after(value: str | None, *, now: datetime) -> datetime | None:
    """When a Retry-After header (seconds or HTTP-date) says to come back, capped at now + 24 h."""
    if not value:
        return None
    value = value.strip()
    if value.isdecimal():
        # Capped before building the timedelta, which a huge number would overflow.
        return now + timedelta(seconds=min(int(value), RETRY_AFTER_CAP.total_seconds()))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP-dates are always GMT
    return min(max(when, now), now + RETRY_AFTER_CAP).astimezone(UTC)


def politeness_key(host: str) -> str:
    """The name a host's turns are counted under: a domain in FETCH_HOST_INTERVALS, or the host."""
    host = host.lower().rstrip(".")
    # arXiv counts its limit over all its hosts (rss., export., www.), so any configured
    # domain covers its subdomains.
    for domain in settings.FETCH_HOST_INTERVALS:
        if domain != "default" and (host == domain or host.endswith("." + domain)):
            return domain
    return host


# --- Request side -------------------------------------------------------------------


def _request_headers(etag: str, last_modified: str) -> dict[str, str]:
    headers = {
        "User-Agent": (
            f"AcademicHub/0.1 (+{settings.SITE_URL}; mailto:{settings.FETCH_CONTACT_EMAIL})"
        ),
        "Accept": ACCEPT,
        # Only what _Decoder can undo in bounded steps (no br or zstd).
        "Accept-Encoding": "gzip, deflate",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


@dataclass(frozen=True, slots=True)
class _Hop:
    """One request to make: the URL as written, and the checked addresses its host has."""

    url: httpx.URL
    addresses: tuple[str, ...]


def _checked_hop(url: str) -> _Hop:
    """The URL checked, and its host resolved once: the connection goes to these addresses."""
    parsed = _checked_url(url)
    default_port = 443 if parsed.scheme == "https" else 80
    host = parsed.raw_host.decode("ascii")
    return _Hop(parsed, _addresses(host, parsed.port or default_port))


def _checked_url(url: str) -> httpx.URL:
    """The URL parsed by httpx itself (so the check and the connection read it alike)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(ErrorKind.BAD_URL, f"not a valid URL: {url!r}") from exc
    if parsed.scheme not in ("http", "https"):
        scheme = f"{parsed.scheme}:" if parsed.scheme else "a relative"
        raise FetchError(
            ErrorKind.BAD_URL, f"refused {scheme} URL {url!r}: only http and https are fetched"
        )
    if parsed.userinfo:
        # Never echo the URL here: it holds a password.
        raise FetchError(ErrorKind.BAD_URL, "refused a URL with a user name or password in it")
    if not parsed.host:
        raise FetchError(ErrorKind.BAD_URL, f"no host in URL {url!r}")
    return parsed


def _addresses(host: str, port: int) -> tuple[str, ...]:
    """Resolve `host` once; refuse it if any address is not public (SSRF guard).

    The connection is then made to these addresses and never resolved again, so a DNS
    answer that changes between check and connect (rebinding) cannot reach a private
    address. getaddrinfo also turns numeric tricks (127.1, 0x7f.1, 2130706433) into the
    address they mean. The lookup is bounded only by the system resolver's timeouts
    (resolv.conf), not by FETCH_DEADLINE.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(ErrorKind.NETWORK, f"could not resolve {host}: {exc}") from exc
    # In the resolver's order, as socket.create_connection would try them.
    addresses = tuple(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in infos))
    if not addresses:
        raise FetchError(ErrorKind.NETWORK, f"could not resolve {host}: no address")
    if not settings.FETCH_ALLOW_PRIVATE_IPS:
        for address in addresses:
            if not _is_public(ipaddress.ip_address(address)):
                raise FetchError(
                    ErrorKind.BAD_URL,
                    f"refused {host}: it resolves to {address}, a private or reserved address",
                )
    return addresses


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address reach that address: check it too.
        if address.ipv4_mapped:
            candidates.append(address.ipv4_mapped)
        if address.sixtofour:
            candidates.append(address.sixtofour)
        if address in NAT64_PREFIX:
            candidates.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    # is_global is False for private, loopback, link-local, reserved, unspecified,
    # CGNAT (100.64/10) and unique-local (fc00::/7); multicast counts as global.
    return all(a.is_global and not a.is_multicast for a in candidates)


@contextmanager
def _open(
    client: httpx.Client, hop: _Hop, headers: dict[str, str], deadline: float
) -> Iterator[httpx.Response]:
    """GET the hop from its checked addresses, in order, until one accepts the connection.

    The request goes to the address itself; the Host header and TLS (SNI and the
    certificate check) still use the host name the URL gave.
    """
    url = hop.url
    pinned_headers = {**headers, "Host": url.netloc.decode("ascii")}
    extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
    for index, address in enumerate(hop.addresses):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _deadline_error(url.host)
        # httpx's read timeout applies to each read, not the whole response, so it cannot
        # be the deadline; keeping it under the time left bounds any single wait, and
        # _read_body checks the deadline between reads.
        timeout = httpx.Timeout(remaining, connect=min(settings.FETCH_CONNECT_TIMEOUT, remaining))
        request = client.build_request(
            "GET",
            url.copy_with(host=address),
            headers=pinned_headers,
            timeout=timeout,
            extensions=extensions,
        )
        try:
            response = client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            # Nothing was sent: the next address may answer (a name with IPv6 and IPv4, the
            # first of which may drop packets; the deadline above still bounds the whole).
            if index == len(hop.addresses) - 1:
                raise
            continue
        try:
            yield response
        finally:
            response.close()
        return


@contextmanager
def _as_fetch_errors(host: str) -> Iterator[None]:
    """Turn httpx's and the socket's exceptions into FetchErrors staff can read."""
    try:
        yield
    except httpx.ConnectTimeout as exc:
        raise FetchError(ErrorKind.TIMEOUT, f"could not connect to {host} in time") from exc
    except httpx.TimeoutException as exc:
        raise _deadline_error(host) from exc
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        reason = str(exc) or type(exc).__name__
        raise FetchError(ErrorKind.NETWORK, f"network error with {host}: {reason}") from exc


def _deadline_error(host: str) -> FetchError:
    return FetchError(
        ErrorKind.TIMEOUT,
        f"no complete response from {host} within {settings.FETCH_DEADLINE:g} s",
    )


# --- One turn at a time per host, shared by all workers through Redis ----------------

# Both scripts use Redis's clock, in microseconds, so that machines whose clocks differ
# still agree on when a host may be asked again.

# KEYS: lock, next-allowed time. ARGV: token, lock TTL (ms).
# Returns 0 when the turn is ours, the ms left until the host's interval has passed, or
# -1 while another fetch holds the host.
_TAKE_TURN = """
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local next_at = tonumber(redis.call('GET', KEYS[2]) or '0')
if next_at > now then return math.ceil((next_at - now) / 1000) end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
return -1
"""

# KEYS: lock, next-allowed time. ARGV: token, interval (ms).
# Records when the host may be asked again, then deletes the lock only if it is still
# ours (it may have expired and been taken by another fetch).
_END_TURN = """
local t = redis.call('TIME')
local interval = tonumber(ARGV[2])
if interval > 0 then
  local next_at = t[1] * 1000000 + t[2] + interval * 1000
  if next_at > tonumber(redis.call('GET', KEYS[2]) or '0') then
    redis.call('SET', KEYS[2], string.format('%d', next_at), 'PX', interval)
  end
end
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@functools.cache
def _redis(url: str) -> redis.Redis:
    # One client (and connection pool) per process; redis-py resets the pool after a fork.
    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)


def _turn_lock_ttl() -> float:
    """How long a host's request slot is held at most, in seconds."""
    # The lock must outlive the request: a read started just before the deadline may
    # block for up to one more read timeout (itself at most the deadline).
    return 3 * float(settings.FETCH_DEADLINE)


@contextmanager
def _host_turn(key: str, wait_budget: float) -> Iterator[float]:
    """Hold `key`'s single request slot, yielding how many seconds we waited for it."""
    client = _redis(settings.REDIS_URL)
    lock_key, next_key = f"fetch:lock:{key}", f"fetch:next:{key}"
    token = uuid.uuid4().hex
    lock_ttl_ms = int(_turn_lock_ttl() * 1000)
    intervals = settings.FETCH_HOST_INTERVALS
    interval_ms = int(1000 * intervals.get(key, intervals.get("default", 1.0)))

    started = time.monotonic()
    away: redis.RedisError | None = None
    while True:
        try:
            wait_ms = int(client.eval(_TAKE_TURN, 2, lock_key, next_key, token, lock_ttl_ms))
            away = None
        except redis.RedisError as exc:
            # Without Redis nobody knows who else is talking to the host: wait (bounded) for
            # the clock to come back rather than fetch impolitely.
            if away is None:
                logger.warning("Redis is unreachable: waiting to fetch from %s", key)
            away, wait_ms = exc, int(1000 * REDIS_RETRY_SECONDS)
        if wait_ms == 0:
            break
        left = wait_budget - (time.monotonic() - started)
        if left <= 0:
            if away is not None:
                raise FetchError(
                    ErrorKind.NETWORK, f"Redis is unreachable, so {key} was not fetched: {away}"
                ) from away
            raise FetchError(
                ErrorKind.TIMEOUT,
                f"gave up after waiting {time.monotonic() - started:.0f} s for a turn "
                f"at {key} (other fetches kept it busy)",
            )
        time.sleep(min(wait_ms / 1000 if wait_ms > 0 else TURN_POLL_SECONDS, left))
    try:
        yield time.monotonic() - started
    finally:
        try:
            client.eval(_END_TURN, 2, lock_key, next_key, token, interval_ms)
        except redis.RedisError:
            # The lock's TTL frees the host later; the fetch itself went fine.
            logger.warning("could not end the fetch turn for %s in Redis", key, exc_info=True)


# --- Response side ------------------------------------------------------------------


def _redirect_location(response: httpx.Response, url: httpx.URL) -> str | None:
    """The absolute URL a redirect points to, or None if the response is not a redirect."""
    host = url.host
    if response.status_code not in REDIRECT_STATUSES:
        return None
    location = response.headers.get("location", "").strip()
    if not location:
        raise FetchError(
            ErrorKind.TOO_MANY_REDIRECTS,
            f"HTTP {response.status_code} from {host} without a Location to follow",
            status=response.status_code,
        )
    try:
        # Joined to the URL as written: the response's own URL names the pinned address.
        return str(url.join(location))
    except httpx.InvalidURL as exc:
        raise FetchError(
            ErrorKind.BAD_URL, f"{host} redirected to an invalid URL: {location!r}"
        ) from exc


def _handle_response(
    response: httpx.Response, url: httpx.URL, deadline: float, etag: str, last_modified: str
) -> FetchResult:
    _raise_for_status(response, url.host, deadline)
    headers = response.headers
    if response.status_code == 304:
        # Keep the validators we sent when a 304 omits them, so storing them is safe.
        return FetchResult(
            url=str(url),
            status=304,
            body=b"",
            etag=headers.get("etag", etag),
            last_modified=headers.get("last-modified", last_modified),
            max_age=_max_age(headers.get("cache-control", "")),
        )
    return FetchResult(
        url=str(url),
        status=response.status_code,
        body=_read_body(response, url.host, deadline),
        etag=headers.get("etag", ""),
        last_modified=headers.get("last-modified", ""),
        max_age=_max_age(headers.get("cache-control", "")),
    )


def _raise_for_status(response: httpx.Response, host: str, deadline: float) -> None:
    status = response.status_code
    if response.headers.get("cf-mitigated", "").strip().lower() == "challenge":
        raise FetchError(
            ErrorKind.HTML_NOT_FEED,
            f"{host} served a bot challenge page (HTTP {status}, Cloudflare) instead of the feed",
            status=status,
        )
    if 200 <= status < 300 or status == 304:
        return
    # The standard phrase, not the server's own text, goes in front of staff.
    phrase = httpx.codes.get_reason_phrase(status)
    message = f"HTTP {status} {phrase} from {host}" if phrase else f"HTTP {status} from {host}"
    retry_after, body = None, b""
    if status in (429, 503):
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=timezone.now())
    if status == 429:
        kind = ErrorKind.RATE_LIMITED
    elif status == 410:
        kind = ErrorKind.GONE
    elif status >= 500:
        kind = ErrorKind.HTTP_5XX
    else:
        # 4xx, and the odd 1xx/3xx a feed URL should never answer with.
        kind = ErrorKind.HTTP_4XX
        body = _error_body(response, host, deadline)
    raise FetchError(kind, message, status=status, retry_after=retry_after, body=body)


def _error_body(response: httpx.Response, host: str, deadline: float) -> bytes:
    """Best effort: the status is the error, so a body we cannot read is just left out."""
    try:
        return _read_body(response, host, deadline, max_bytes=ERROR_BODY_BYTES)
    except (FetchError, httpx.HTTPError, OSError):
        return b""


def _read_body(
    response: httpx.Response, host: str, deadline: float, *, max_bytes: int | None = None
) -> bytes:
    max_bytes = max_bytes or settings.FETCH_MAX_BYTES
    declared = response.headers.get("content-length", "").strip()
    if declared.isdecimal() and int(declared) > max_bytes:
        raise FetchError(
            ErrorKind.TOO_LARGE,
            f"{host} announced {int(declared):,} bytes, more than the {max_bytes:,}-byte limit",
            status=response.status_code,
        )
    decoder = _Decoder(response.headers.get("content-encoding", ""), host)
    body = bytearray()
    # iter_raw, not iter_bytes: httpx would inflate each network chunk in one go.
    for raw in response.iter_raw():
        for chunk in decoder.decode(raw):
            body += chunk
            if len(body) > max_bytes:
                raise FetchError(
                    ErrorKind.TOO_LARGE,
                    f"{host} sent more than the {max_bytes:,}-byte limit",
                    status=response.status_code,
                )
        if time.monotonic() > deadline:
            raise _deadline_error(host)
    return bytes(body)


class _Decoder:
    """Undoes gzip/deflate a bounded step at a time; passes other bodies through."""

    def __init__(self, content_encoding: str, host: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        self.host = host
        self.zlib: zlib._Decompress | None = None
        if codings in (["gzip"], ["x-gzip"], ["deflate"]):
            # wbits | 32 reads both gzip and zlib headers (raw deflate is not supported).
            self.zlib = zlib.decompressobj(zlib.MAX_WBITS | 32)
        elif codings:
            raise FetchError(
                ErrorKind.NETWORK,
                f"{host} sent an unsupported Content-Encoding: {content_encoding}",
            )

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self.zlib is None:
            yield data
            return
        try:
            while True:
                out = self.zlib.decompress(data, DECODE_STEP)
                if out:
                    yield out
                data = self.zlib.unconsumed_tail
                # A full step may leave output pending inside zlib even with no input left.
                if not data and len(out) < DECODE_STEP:
                    return
        except zlib.error as exc:
            raise FetchError(
                ErrorKind.NETWORK, f"{self.host} sent a damaged compressed body: {exc}"
            ) from exc


def _max_age(cache_control: str) -> int | None:
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        if name.strip().lower() == "max-age":
            value = value.strip().strip('"')
            return int(value) if value.isdecimal() else None
    return None
