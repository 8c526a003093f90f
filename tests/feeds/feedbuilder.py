"""Small arXiv-shaped RSS and journal RSS documents built in tests."""

from __future__ import annotations

from xml.sax.saxutils import escape

# The Content-Type the test servers send feeds with.
RSS = "application/rss+xml"


def arxiv_item(
    arxiv_id: str,
    *,
    version: int = 1,
    announce: str = "new",
    title: str = "A paper",
    abstract: str = "We study things.",
    creator: str = "Ada Lovelace, Alan Turing",
    categories: tuple[str, ...] = ("cs.CL",),
    doi: str = "",
    pub_date: str = "Thu, 28 Nov 2024 00:00:00 -0500",
) -> str:
    """One <item> exactly as rss.arxiv.org writes it."""
    cats = "".join(f"<category>{c}</category>" for c in categories)
    doi_el = f"<arxiv:DOI>{escape(doi)}</arxiv:DOI>" if doi else ""
    return f"""<item>
      <title>{escape(title)}</title>
      <link>https://arxiv.org/abs/{arxiv_id}</link>
      <description>arXiv:{arxiv_id}v{version} Announce Type: {announce} \nAbstract: {escape(abstract)}</description>
      <guid isPermaLink="false">oai:arXiv.org:{arxiv_id}v{version}</guid>
      {cats}
      <pubDate>{pub_date}</pubDate>
      <arxiv:announce_type>{announce}</arxiv:announce_type>
      {doi_el}
      <dc:creator>{escape(creator)}</dc:creator>
    </item>"""


def arxiv_feed(*items: str, title: str = "cs.CL updates on arXiv.org") -> bytes:
    """An rss.arxiv.org channel around the given items."""
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">
  <channel>
    <title>{escape(title)}</title>
    <link>http://rss.arxiv.org/rss/cs.CL</link>
    <description>cs.CL updates on the arXiv.org e-print archive.</description>
    <pubDate>Thu, 28 Nov 2024 00:00:00 -0500</pubDate>
    {"".join(items)}
  </channel>
</rss>""".encode()


def journal_feed(*items: str) -> bytes:
    """A plain RSS 2.0 journal feed (Science-shaped)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>AAAS: Science: Table of Contents</title>
<link>https://www.science.org</link><description>Science</description>
{"".join(items)}</channel></rss>""".encode()


def journal_item(
    doi: str, *, title: str = "A journal article", description: str = "", link: str = ""
) -> str:
    """One journal RSS item whose link carries the DOI."""
    link = link or f"https://www.science.org/doi/abs/{doi}?af=R"
    return f"""<item><title>{title}</title><link>{escape(link)}</link>
<description>{escape(description)}</description>
<pubDate>Thu, 28 Nov 2024 10:00:00 +0000</pubDate></item>"""
