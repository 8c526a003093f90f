"""Broken bytes and entity-declaring feeds, polled from a local server through the real path.

One invalid byte costs one character of one field (U+FFFD there, counted as a warning);
a document with its own DTD (billion laughs, XXE) is refused and nothing is stored.
"""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from pytest_httpserver import HTTPServer

from feeds.models import Paper, Source
from feeds.pipeline.poll import source_poll
from feeds.sources.base import ErrorKind
from tests.factories import SourceFactory, make_user
from tests.feeds.feedbuilder import RSS, arxiv_feed, arxiv_item
from tests.feeds.test_source_health import HEALTH_URL, health_rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_fetch")]

ACCENTED = "Schrödinger café 量子 Erdős"
# A Latin-1 é in a UTF-8 document: the one byte that is invalid.
BAD_TITLE = b"Caf\xe9 au lait"


def _arxiv_with_one_bad_byte() -> bytes:
    """A UTF-8 arXiv listing of three papers; the second's title holds one invalid byte."""
    body = arxiv_feed(
        arxiv_item("2411.00001", title=ACCENTED, creator="Kurt Gödel, 王小明"),
        arxiv_item("2411.00002", title="PLACEHOLDER", creator="Émilie du Châtelet"),
        arxiv_item("2411.00003", title="Über Köln und 北京", abstract="Résumé: 中文摘要。"),
    )
    assert body.count(b"PLACEHOLDER") == 1
    return body.replace(b"PLACEHOLDER", BAD_TITLE)


def _poll(httpserver: HTTPServer, body: bytes, *, kind: str = Source.Kind.ARXIV_RSS) -> Source:
    source = SourceFactory.create(kind=kind, url=httpserver.url_for("/feed"))
    httpserver.expect_request("/feed").respond_with_data(body, content_type=RSS)
    source_poll(source.id, force=True)
    source.refresh_from_db()
    return source


def _titles() -> dict[str, str]:
    return dict(Paper.objects.values_list("key", "title"))


def test_one_bad_byte_becomes_one_replacement_character_in_that_title_only(
    httpserver: HTTPServer,
) -> None:
    source = _poll(httpserver, _arxiv_with_one_bad_byte())
    assert _titles() == {
        "2411.00001": ACCENTED,
        "2411.00002": "Caf\ufffd au lait",
        "2411.00003": "Über Köln und 北京",
    }
    # The other fields of the damaged entry, and of every other entry, are exact.
    assert Paper.objects.get(key="2411.00002").authors == ["Émilie du Châtelet"]
    assert Paper.objects.get(key="2411.00001").authors == ["Kurt Gödel", "王小明"]
    assert Paper.objects.get(key="2411.00003").abstract == "Résumé: 中文摘要。"
    assert (source.error_count, source.last_error) == (0, "")
    assert (source.items_last_time, source.warnings_last_time) == (3, 1)


def test_the_ingest_result_counts_each_bad_byte_as_a_warning(httpserver: HTTPServer) -> None:
    body = _arxiv_with_one_bad_byte().replace(b"\xc3\x9cber", b"\xff\xfeber")
    source = SourceFactory.create(url=httpserver.url_for("/feed"))
    httpserver.expect_request("/feed").respond_with_data(body, content_type=RSS)
    summary = source_poll(source.id, force=True)
    assert summary is not None
    # One byte in the second title, two in the third.
    assert (summary.as_dict()["warnings"], summary.errors, summary.created) == (3, 0, 3)
    assert _titles()["2411.00003"] == "\ufffd\ufffdber Köln und 北京"


def test_staff_see_the_warnings_on_the_health_page(httpserver: HTTPServer, client: Client) -> None:
    source = _poll(httpserver, _arxiv_with_one_bad_byte())
    staff = make_user("operator@example.org", is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(codename="change_source", content_type__app_label="feeds")
    )
    client.force_login(staff)
    row = health_rows(client.get(HEALTH_URL).content.decode())[source.label]
    assert (row["State"], row["Items last time"], row["Warnings last time"]) == ("ok", "3", "1")


def test_a_feed_is_decoded_as_it_declares_and_undefined_bytes_are_replaced(
    httpserver: HTTPServer,
) -> None:
    # windows-1252: 0x93/0x94 are curly quotes, 0xE9 is é, 0x81 is undefined.
    body = (
        b'<?xml version="1.0" encoding="windows-1252"?>\n<rss version="2.0"><channel>'
        b"<title>Journal</title><link>https://journal.example/</link><description>J</description>"
        b"<item><title>\x93Caf\xe9\x94 and na\xefve</title>"
        b"<link>https://journal.example/doi/10.1234/one</link><author>J. M\xfcller</author></item>"
        b"<item><title>Broken \x81 byte</title>"
        b"<link>https://journal.example/doi/10.1234/two</link></item>"
        b"</channel></rss>"
    )
    source = _poll(httpserver, body, kind=Source.Kind.RSS)
    assert _titles() == {"10.1234/one": "“Café” and naïve", "10.1234/two": "Broken \ufffd byte"}
    assert source.warnings_last_time == 1


def test_a_nul_in_a_title_is_dropped_and_counted(httpserver: HTTPServer) -> None:
    body = arxiv_feed(arxiv_item("2411.00001", title="NULPLACE"), arxiv_item("2411.00002"))
    source = _poll(httpserver, body.replace(b"NULPLACE", b"Nul\x00 and \x0bbell"))
    assert _titles() == {"2411.00001": "Nul and bell", "2411.00002": "A paper"}
    assert (source.error_count, source.warnings_last_time) == (0, 2)


def test_a_biorxiv_page_with_one_bad_byte_keeps_its_other_records(httpserver: HTTPServer) -> None:
    records = [
        {"doi": f"10.1101/2024.01.0{n}.12345{n}", "title": title, "authors": "Łukasz Nowak",
         "date": "2024-01-03", "version": "1", "category": "genomics", "abstract": "Ça marche."}
        for n, title in ((1, "Méthodes 方法"), (2, "PLACEHOLDER"))
    ]  # fmt: skip
    page = {"messages": [{"status": "ok", "count": 2, "total": "2", "cursor": 0}]}
    body = json.dumps({**page, "collection": records}, ensure_ascii=False).encode()
    body = body.replace(b"PLACEHOLDER", b"Bad \xc3 byte")
    source = SourceFactory.create(kind=Source.Kind.BIORXIV_API, url=httpserver.url_for("/details"))
    # `{base}/{since}/{today}/{offset}/json`: one page holds both records.
    httpserver.expect_request(re.compile("^/details/")).respond_with_data(
        body, content_type="application/json"
    )
    source_poll(source.id, force=True)
    source.refresh_from_db()
    assert source.error_count == 0, source.last_error
    assert _titles() == {
        "10.1101/2024.01.01.123451": "Méthodes 方法",
        "10.1101/2024.01.02.123452": "Bad \ufffd byte",
    }
    assert source.warnings_last_time == 1


BILLION_LAUGHS = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>cs.CL updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.CL</link>
<description>d</description>
<item><title>&lol9;</title><link>https://arxiv.org/abs/2411.00001</link>
<description>arXiv:2411.00001v1 Announce Type: new
Abstract: &lol9;</description>
<guid isPermaLink="false">oai:arXiv.org:2411.00001v1</guid><dc:creator>A B</dc:creator>
<link>https://journal.example/doi/10.1234/lol</link></item>
</channel></rss>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<rss version="2.0"><channel><title>J</title><link>https://journal.example/</link>
<description>d</description><item><title>&secret;</title>
<link>https://journal.example/doi/10.1234/xxe</link></item></channel></rss>"""


@pytest.mark.parametrize("kind", [Source.Kind.ARXIV_RSS, Source.Kind.RSS, Source.Kind.ARXIV_API])
@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_a_feed_that_declares_entities_is_refused_and_nothing_is_stored(
    httpserver: HTTPServer, kind: str, body: bytes
) -> None:
    source = _poll(httpserver, body, kind=kind)
    assert Paper.objects.count() == 0
    assert (source.error_count, source.last_error_kind) == (1, ErrorKind.PARSE)
    assert "declares its own DTD" in source.last_error
    assert "nothing was stored" in source.last_error


def test_a_plain_public_doctype_is_still_read(httpserver: HTTPServer) -> None:
    body = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
 "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>J</title><link>https://journal.example/</link>
<description>d</description><item><title>M\xfcnster</title>
<link>https://journal.example/doi/10.1234/ok</link></item></channel></rss>"""
    source = _poll(httpserver, body, kind=Source.Kind.RSS)
    assert source.error_count == 0, source.last_error
    assert _titles() == {"10.1234/ok": "Münster"}
    assert source.warnings_last_time == 0
