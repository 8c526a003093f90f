"""Reading in Chromium: Today's filters and paging, saving and export, search, KaTeX, keys."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from django.contrib.auth.models import User
from playwright.sync_api import expect

from feeds.front import PAGE_CARDS
from feeds.models import Paper
from feeds.selectors import announce_order
from radar.models import SavedPaper
from tests.browser.conftest import ARXIV_DAY, OpenTab, ReadingDay, Tab
from tests.factories import UserFactory, arxiv_paper


def _card_ids(tab: Tab) -> list[int]:
    ids = tab.page.locator(".paper-list > .paper-card").evaluate_all("cs => cs.map(c => c.id)")
    return [int(card_id.removeprefix("paper-")) for card_id in ids]


def _query(tab: Tab) -> dict[str, list[str]]:
    """The current URL's non-empty query parameters."""
    return parse_qs(urlsplit(tab.page.url).query)


def _filter_today(tab: Tab, *, source: str = "", announce_type: str = "") -> None:
    fold = tab.page.locator("details.filters-fold")
    if fold.get_attribute("open") is None:
        fold.locator("summary").click()
    form = tab.page.get_by_role("search", name="Filter papers")
    form.locator("#filter-source").select_option(source)
    form.locator("#filter-announce").select_option(announce_type)
    form.get_by_role("button", name="Filter", exact=True).click()
    tab.page.wait_for_load_state("networkidle")


def test_today_filters_by_source_and_announce_type_pages_days_and_loads_more(
    open_tab: OpenTab, reading_day: ReadingDay
) -> None:
    tab = open_tab()
    page = tab.page
    tab.open("/")
    expect(page.locator(".paper-card")).to_have_count(PAGE_CARDS)

    _filter_today(tab, source="science")
    assert _query(tab) == {"source": ["science"]}
    assert _card_ids(tab) == [reading_day.journal.id]
    expect(page.locator(".paper-card__source")).to_have_text(["Science"])

    _filter_today(tab, source="biorxiv")
    assert _card_ids(tab) == [reading_day.biorxiv.id]
    expect(page.locator(".paper-card__source")).to_have_text(["bioRxiv (Bioinformatics)"])

    _filter_today(tab, source="", announce_type="cross")
    assert _query(tab) == {"announce_type": ["cross"]}
    cross = Paper.objects.filter(announced=ARXIV_DAY, announce_type="cross").order_by("id")
    assert _card_ids(tab) == list(cross.values_list("id", flat=True)) != []
    expect(page.locator(".paper-card .badge")).to_have_text(["cross-list"] * cross.count())

    tab.open("/")
    page.locator(".day-nav a[rel=prev]").click()
    page.wait_for_load_state("networkidle")
    assert _query(tab) == {"date": ["2024-11-27"]}
    assert _card_ids(tab) == [reading_day.earlier.id]
    page.locator(".day-nav a[rel=next]").click()
    page.wait_for_load_state("networkidle")
    assert _query(tab) == {"date": [ARXIV_DAY.isoformat()]}
    expect(page.locator(".paper-card")).to_have_count(PAGE_CARDS)


def test_the_contents_jump_to_sections_and_open_the_updated_papers(
    open_tab: OpenTab, reading_day: ReadingDay
) -> None:
    tab = open_tab()
    page = tab.page
    tab.open("/")
    # The first card is a new paper, not one of the day's replacements.
    expect(page.locator(".paper-card .badge").first).to_have_text("new")
    hrefs = page.locator(".toc > li > a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    anchors = [h for h in hrefs if h.startswith("#")]
    assert len(anchors) >= 5
    for anchor in anchors:
        expect(page.locator(anchor)).to_have_count(1)
    page.locator(f'.toc a[href="{anchors[2]}"]').click()
    expect(page.locator(anchors[2])).to_be_in_viewport()
    assert page.url.endswith(anchors[2])
    page.locator('.toc a[href="#updated"]').click()
    expect(page.locator("#updated")).to_have_attribute("open", "")
    expect(page.locator("#updated .updated-list li").first).to_be_visible()
    assert tab.console_errors() == []


def test_load_more_appends_the_next_cards_without_a_reload(
    open_tab: OpenTab, reading_day: ReadingDay
) -> None:
    tab = open_tab()
    page = tab.page
    tab.open("/?category=cs.CV")
    first_page = _card_ids(tab)
    page.evaluate("window.__sameDocument = true")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    page.locator(".load-more a").click()

    expect(page.locator(".paper-card")).to_have_count(50)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__sameDocument") is True
    assert navigations == []
    expect(page.locator(".paper-card__number")).to_have_text([f"{n:02d}." for n in range(1, 51)])
    ids = _card_ids(tab)
    assert ids[:25] == first_page
    expected = (
        Paper.objects.filter(announced=ARXIV_DAY, categories__contains=["cs.CV"])
        .order_by(announce_order(), "id")
        .values_list("id", flat=True)
    )
    assert ids == list(expected[:50])
    expect(page.locator(".load-more a")).to_have_count(1)  # and there are still more


def test_a_reader_saves_with_the_star_and_the_s_key_then_exports_bibtex(
    open_tab: OpenTab,
) -> None:
    alice: User = UserFactory.create(name="alice")
    first = arxiv_paper(title="Retrieval augmented reading lists")
    arxiv_paper(title="A paper left unsaved")
    third = arxiv_paper(title="Citation graphs at scale")
    tab = open_tab(user=alice)
    page = tab.page
    tab.open("/")
    page.evaluate("window.__sameDocument = true")

    page.keyboard.press("j")
    expect(page.locator(f"#paper-{first.id}")).to_have_class(re.compile(r"\bis-current\b"))
    page.keyboard.press("s")
    expect(page.locator(f"#paper-{first.id} .save-button")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.locator(f"#paper-{third.id} .save-button").click()
    expect(page.locator(f"#paper-{third.id} .save-button")).to_have_attribute(
        "aria-pressed", "true"
    )

    assert page.evaluate("window.__sameDocument") is True
    saved = SavedPaper.objects.filter(user=alice).values_list("paper_id", flat=True)
    assert set(saved) == {first.id, third.id}
    tab.open("/saved/")
    expect(page.locator(".saved-item .paper-card__title")).to_have_text(
        ["Citation graphs at scale", "Retrieval augmented reading lists"]
    )
    with page.expect_download() as info:
        page.get_by_role("link", name="Export all as BibTeX").click()
    download = info.value
    bibtex = Path(download.path()).read_text(encoding="utf-8")
    assert download.suggested_filename.endswith(".bib")
    assert len(re.findall(r"^@\w+\{", bibtex, flags=re.MULTILINE)) == 2, bibtex
    assert "Retrieval augmented reading lists" in bibtex
    assert "Citation graphs at scale" in bibtex
    assert "A paper left unsaved" not in bibtex
    assert tab.console_errors() == []


def _search(tab: Tab, query: str) -> int:
    """Type `query` into the search box, press Enter, return the response status."""
    tab.page.fill("#search-q", query)
    with tab.page.expect_response(lambda r: "/search/?" in r.url) as info:
        tab.page.press("#search-q", "Enter")
    tab.page.wait_for_load_state("networkidle")
    return info.value.status


def test_search_highlights_the_word_and_takes_a_chinese_query(open_tab: OpenTab) -> None:
    sparse = arxiv_paper(
        title="Sparse attention for very long documents",
        abstract="We make attention cheaper on book-length inputs.",
    )
    arxiv_paper(title="Graph networks for traffic forecasting", abstract="Roads as graphs.")
    quantum = arxiv_paper(title="量子纠缠的实验验证", abstract="一项关于量子纠缠的实验研究。")
    tab = open_tab()
    page = tab.page
    tab.open("/search/")

    assert _search(tab, "attention") == 200

    assert _card_ids(tab) == [sparse.id]
    expect(page.locator(f"#paper-{sparse.id} .paper-card__title mark")).to_have_text(
        re.compile("^attention$", re.IGNORECASE)
    )
    expect(page.locator(f"#paper-{sparse.id} .paper-card__abstract mark").first).to_be_visible()

    assert _search(tab, "量子") == 200

    assert _card_ids(tab) == [quantum.id]
    expect(page.locator(f"#paper-{quantum.id} .paper-card__title mark")).to_have_text("量子")
    assert tab.console_errors() == []


def test_katex_renders_the_tex_in_titles_and_abstracts(open_tab: OpenTab) -> None:
    paper = arxiv_paper(
        title="The Smith normal form of the Dynkin graph $A_n$",
        abstract=r"For every $n \geq 2$ we compute $\det(Q_n)$ in closed form.",
    )
    tab = open_tab()
    page = tab.page

    tab.open("/")
    title = page.locator(f"#paper-{paper.id} .paper-card__title a")
    abstract = page.locator(f"#paper-{paper.id} .paper-card__abstract")
    expect(title.locator(".katex")).to_have_count(1)
    expect(abstract.locator(".katex")).to_have_count(2)
    for element in (title, abstract):
        assert "$" not in element.inner_text()
        expect(element.locator(".katex-error")).to_have_count(0)

    tab.open(f"/papers/{paper.key}/")
    expect(page.locator("h1 .katex")).to_have_count(1)
    expect(page.locator(".paper-page__abstract .katex")).to_have_count(2)
    assert "$" not in page.locator("h1").inner_text()
    assert "$" not in page.locator(".paper-page__abstract").inner_text()
    font_requests = [r.url for r in tab.requests if "/static/vendor/katex/fonts/" in r.url]
    assert font_requests and all(url.endswith(".woff2") for url in font_requests)
    assert tab.console_errors() == []


def test_katex_renders_display_math_between_double_dollars(open_tab: OpenTab) -> None:
    paper = arxiv_paper(
        title="A closed form",
        abstract=r"Its Smith normal form is $$ \mathrm{diag}(1, 2, \dots, 2) $$ for every $n$.",
    )
    tab = open_tab()

    tab.open(f"/papers/{paper.key}/")

    abstract = tab.page.locator(".paper-page__abstract p")
    expect(abstract.locator(".katex")).to_have_count(2, timeout=1_000)
    assert "\\mathrm" not in abstract.inner_text()
    assert "$" not in abstract.inner_text()


def test_katex_renders_paren_bracket_and_environment_math_as_arxiv_writes_it(
    open_tab: OpenTab,
) -> None:
    # As in real arXiv abstracts (2411.17939, 2411.18344, 2411.18336 of the recorded day).
    paper = arxiv_paper(
        title="Observables and a folding formula",
        abstract=(
            r"It needs \(O(r \log d)\) observables. The formula \[h_{\mu}(f) = F_{\mu}(f)\] "
            r"holds for \begin{align*} u_t &= \Delta u \end{align*} every solution."
        ),
    )
    tab = open_tab()

    tab.open(f"/papers/{paper.key}/")

    abstract = tab.page.locator(".paper-page__abstract p")
    expect(abstract.locator(".katex")).to_have_count(3, timeout=1_000)
    expect(abstract.locator(".katex-error")).to_have_count(0)
    text = abstract.inner_text()
    assert "\\(" not in text and "\\[" not in text and "\\begin" not in text
    assert "observables" in text and "every solution" in text
    assert tab.console_errors() == []


def test_j_and_k_move_between_cards_with_a_visible_focus_and_o_opens_one(
    open_tab: OpenTab,
) -> None:
    papers = [
        arxiv_paper(title=f"Keyboard paper {n}", announced=date(2024, 11, 28)) for n in (1, 2, 3)
    ]
    tab = open_tab()
    page = tab.page
    tab.open("/")
    cards = [page.locator(f"#paper-{p.id}") for p in papers]
    current = page.locator(".paper-card.is-current")

    page.locator("details.filters-fold > summary").click()
    field = page.locator("#filter-category")
    field.press_sequentially("jk")  # typing in a field is not a shortcut
    expect(field).to_have_value("jk")
    expect(current).to_have_count(0)
    field.fill("")
    field.blur()

    page.keyboard.press("j")
    expect(current).to_have_count(1)
    expect(cards[0]).to_have_class(re.compile(r"\bis-current\b"))
    focused = page.evaluate(
        "(() => { const el = document.activeElement, style = getComputedStyle(el);"
        " return {card: el.closest('.paper-card')?.id, outline: style.outlineStyle,"
        " width: parseFloat(style.outlineWidth)}; })()"
    )
    assert focused["card"] == f"paper-{papers[0].id}"
    assert focused["outline"] != "none" and focused["width"] >= 2, focused

    page.keyboard.press("j")
    expect(cards[1]).to_have_class(re.compile(r"\bis-current\b"))
    expect(current).to_have_count(1)

    page.keyboard.press("k")
    expect(cards[0]).to_have_class(re.compile(r"\bis-current\b"))
    expect(current).to_have_count(1)

    page.keyboard.press("o")
    page.wait_for_url(f"**/papers/{papers[0].key}/")
    expect(page.locator("h1")).to_have_text("Keyboard paper 1")
    assert tab.console_errors() == []
