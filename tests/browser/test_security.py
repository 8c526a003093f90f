"""What Chromium loads and runs: only this site's files, under a strict CSP; feed text stays inert."""

from __future__ import annotations

from django.contrib.auth.models import User
from playwright.sync_api import Response, expect

from feeds.models import Paper
from feeds.pipeline.sanitise import MAX_ABSTRACT, clean_html
from radar.models import SavedPaper
from tests.browser.conftest import OpenTab, Tab
from tests.factories import UserFactory, arxiv_paper, journal_paper

HOSTILE_TITLE = "<img src=x onerror=window.__pwned=1>"
HOSTILE_ABSTRACT = "A hostile abstract <script>window.__pwned=1</script> \u202egnp.exe"
# What a journal feed might send; stored, as always, after the pipeline's nh3 pass.
HOSTILE_HTML = (
    '<p>See <img src="https://evil.example/pixel.png" onerror="window.__pwned=1">'
    '<a href="javascript:window.__pwned=1">this</a> and '
    '<span hx-get="/saved/export.bib" hx-trigger="load">that</span>.</p>'
    "<script>window.__pwned=1</script><style>body{display:none}</style>"
)

# Where the CSP and same-origin checks look: every kind of page a reader sees.
PAGES = ["/", "/papers/{key}/", "/search/?q=tensor", "/saved/", "/settings/"]


def _directives(response: Response) -> dict[str, list[str]]:
    header = response.headers.get("content-security-policy", "")
    assert header, f"no Content-Security-Policy on {response.url}"
    parts = [part.split() for part in header.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def _reader_with_a_paper() -> tuple[User, Paper]:
    alice: User = UserFactory.create(name="alice")
    paper = arxiv_paper(
        title="Tensor networks for $SU(N)$ lattice gauge theory",
        abstract=r"We contract $\mathrm{PEPS}$ on a $4 \times 4$ lattice.",
    )
    SavedPaper.objects.create(user=alice, paper=paper)
    return alice, paper


def _visit_every_page(tab: Tab, paper: Paper) -> list[Response]:
    responses = []
    for path in PAGES:
        response = tab.open(path.format(key=paper.key))
        assert response.status == 200, path
        responses.append(response)
    return responses


def test_every_page_loads_only_from_this_site_under_a_strict_csp(open_tab: OpenTab) -> None:
    alice, paper = _reader_with_a_paper()
    tab = open_tab(user=alice)

    responses = _visit_every_page(tab, paper)

    assert tab.foreign_requests() == []
    assert {r.url.split("/static/")[1] for r in tab.requests if "/static/" in r.url} >= {
        "css/site.css",
        "js/site.js",
        "django_htmx/htmx-2.min.js",
        "vendor/katex/katex.min.js",
        "vendor/katex/katex.min.css",
        "vendor/katex/contrib/auto-render.min.js",
    }
    assert tab.csp_reports() == []
    assert tab.console_errors() == []
    for response in responses:
        csp = _directives(response)
        assert csp["default-src"] == ["'self'"]
        assert "'self'" in csp["script-src"]
        for directive in ("script-src", "style-src"):
            assert not any("unsafe" in value for value in csp[directive]), csp
        assert "*" not in " ".join(sum(csp.values(), []))
    # Nothing inline for the CSP to have to allow: no script bodies, no on* attributes.
    inline = tab.page.evaluate(
        "[...document.querySelectorAll('script:not([src])')].length"
        " + [...document.querySelectorAll('*')].filter(el =>"
        " [...el.attributes].some(a => a.name.startsWith('on'))).length"
    )
    assert inline == 0
    htmx_config = tab.page.evaluate(
        "({allowEval: htmx.config.allowEval, selfRequestsOnly: htmx.config.selfRequestsOnly,"
        " includeIndicatorStyles: htmx.config.includeIndicatorStyles})"
    )
    assert htmx_config == {
        "allowEval": False,
        "selfRequestsOnly": True,
        "includeIndicatorStyles": False,
    }


def test_script_src_carries_a_fresh_nonce_on_every_page(open_tab: OpenTab) -> None:
    alice, paper = _reader_with_a_paper()
    tab = open_tab(user=alice)

    responses = _visit_every_page(tab, paper)

    nonces = []
    for response in responses:
        nonce = [v for v in _directives(response)["script-src"] if v.startswith("'nonce-")]
        assert len(nonce) == 1, response.url
        nonces.append(nonce[0])
    assert len(set(nonces)) == len(nonces)  # a new one per response


def test_hostile_feed_text_renders_as_inert_text(open_tab: OpenTab) -> None:
    paper = arxiv_paper(title=HOSTILE_TITLE, abstract=HOSTILE_ABSTRACT)
    journal = journal_paper(
        title="A journal abstract with markup",
        abstract="See this and that.",
        abstract_html=clean_html(HOSTILE_HTML, MAX_ABSTRACT),
    )
    tab = open_tab()
    page = tab.page

    for path in ["/", f"/papers/{paper.key}/", "/search/?q=hostile"]:
        tab.open(path)
        if path == f"/papers/{paper.key}/":
            title, abstract = page.locator("h1"), page.locator(".paper-page__abstract p")
            assert page.title().startswith(HOSTILE_TITLE)
        else:
            card = page.locator(f"#paper-{paper.id}")
            title, abstract = (
                card.locator(".paper-card__title"),
                card.locator(".paper-card__abstract"),
            )
        expect(title).to_have_text(HOSTILE_TITLE)
        expect(abstract).to_contain_text("<script>window.__pwned=1</script>")
        assert "\u202e" not in abstract.inner_text()  # no right-to-left override reaches the page
        expect(abstract).to_contain_text("gnp.exe")
        assert page.evaluate("window.__pwned") is None
        expect(page.locator("main img, main script")).to_have_count(0)

    tab.open(f"/papers/{journal.key}/")
    markup = page.locator(".paper-page__abstract [hx-disable]")
    expect(markup).to_contain_text("See this and that.")
    expect(markup.locator("img, script, style, [hx-get], [onerror]")).to_have_count(0)
    expect(markup.locator("a[href^='javascript']")).to_have_count(0)
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("getComputedStyle(document.body).display") != "none"

    paths = [r.url.removeprefix(tab.origin) for r in tab.requests]
    assert "/x" not in paths and "/saved/export.bib" not in paths
    assert tab.foreign_requests() == []
    assert tab.csp_reports() == []
