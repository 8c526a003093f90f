"""Feed text as readers see it: journal markup, TeX text macros and journal boilerplate made
plain at ingest, for rows stored before (at display and by migration), and on the pages."""

from __future__ import annotations

import importlib
import io
import re
import time
from datetime import date

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from digests.cards import cards_ensure, current_key, text_hash
from digests.models import Card
from feeds.models import Paper, Source
from feeds.pipeline.poll import body_ingest
from feeds.pipeline.text import clean_abstract, clean_abstract_html, clean_title
from feeds.sources import arxiv_rss
from feeds.sources.rss import html_to_text
from tests.conftest import fixture_bytes
from tests.factories import SourceFactory, arxiv_paper, card_for, journal_paper, journal_source
from tests.feeds.feedbuilder import arxiv_feed, arxiv_item, journal_feed, journal_item
from tests.pages import text_of

# --- the rules, on text from the recorded feeds ----------------------------------------------


@pytest.mark.parametrize(
    ("title", "plain"),
    [
        # Nature's RSS titles (nature-rss-2024-07-18.rdf), as feedparser hands them over.
        (
            "Catalysis of an S<sub>N</sub>2 pathway by geometric preorganization",
            "Catalysis of an SN2 pathway by geometric preorganization",
        ),
        (
            "Split intein-mediated protein <i>trans</i>-splicing to express large dystrophins",
            "Split intein-mediated protein trans-splicing to express large dystrophins",
        ),
        (
            "Superconductivity in pressurized trilayer La<sub>4</sub>Ni<sub>3</sub>"
            "O<sub>10−<i>δ</i></sub> single crystals",
            "Superconductivity in pressurized trilayer La4Ni3O10−δ single crystals",
        ),
        (
            "Psilocybin desynchronizes the&#xa0;human brain",
            "Psilocybin desynchronizes the human brain",
        ),
        # Escaped once more by a feed, or stored that way.
        (
            "What &lt;i&gt;Twisters&lt;/i&gt; gets right — and wrong",
            "What Twisters gets right — and wrong",
        ),
        ("<I CLASS='x'>Drosophila</I> wings<br/>grow", "Drosophila wings grow"),
        ("AI &amp; robotics briefing", "AI & robotics briefing"),
    ],
)
def test_markup_in_journal_titles_becomes_plain_text(title: str, plain: str) -> None:
    assert clean_title(title) == plain


MATHML = 'xmlns:mml="http://www.w3.org/1998/Math/MathML"'


@pytest.mark.parametrize(
    ("title", "plain"),
    [
        # Wiley's small caps, JATS's namespaced and inline elements: the words stay.
        ("Hypoxia Drives <scp>HIF</scp>‐1α Signalling in <scp>COPD</scp>",
         "Hypoxia Drives HIF‐1α Signalling in COPD"),
        ("<jats:italic>Drosophila</jats:italic> <jats:sc>Dpp</jats:sc> gradients",
         "Drosophila Dpp gradients"),
        ('A <styled-content style="x">styled</styled-content> <inline-graphic xlink:href="a.gif"/>'
         "and <monospace>code</monospace> title", "A styled and code title"),
        # MathML: its text in order, scripts and fractions flattened so they read right.
        (f"Bounds on <mml:math {MATHML}><mml:msub><mml:mi>L</mml:mi><mml:mn>2</mml:mn>"
         "</mml:msub></mml:math> norms", "Bounds on L₂ norms"),
        (f"<mml:math {MATHML} altimg=\"x.gif\"><mml:mrow><mml:msup><mml:mi>E</mml:mi>"
         "<mml:mn>2</mml:mn></mml:msup><mml:mo>=</mml:mo><mml:mfrac><mml:mi>a</mml:mi>"
         "<mml:mi>b</mml:mi></mml:mfrac></mml:mrow></mml:math> exactly", "E²=a/b exactly"),
        (f"At <mml:math {MATHML}><mml:msqrt><mml:mi>s</mml:mi></mml:msqrt><mml:mo>=</mml:mo>"
         "<mml:mn>13</mml:mn><mml:mspace width=\"0.2em\"/><mml:mtext>TeV</mml:mtext></mml:math>",
         "At √s=13 TeV"),
        (f"<mml:math {MATHML}><mml:semantics><mml:msubsup><mml:mi>x</mml:mi><mml:mi>i</mml:mi>"
         "<mml:mi>ab</mml:mi></mml:msubsup><mml:annotation encoding=\"application/x-tex\">"
         "x_i^{ab}</mml:annotation></mml:semantics></mml:math> terms", "xᵢᵃᵇ terms"),
        # Escaped once more, entities inside included.
        ("Phase &lt;mml:math&gt;&lt;mml:mi&gt;α&lt;/mml:mi&gt;&lt;mml:mo&gt;&amp;lt;"
         "&lt;/mml:mo&gt;&lt;mml:mn&gt;1&lt;/mml:mn&gt;&lt;/mml:math&gt; only", "Phase α<1 only"),
        # JATS TeX becomes math for KaTeX, inline whatever its delimiters or preamble.
        (r"A <tex-math id='m1'><![CDATA[\documentclass[12pt]{minimal}\usepackage{amsmath}"
         r"\begin{document}$$\alpha_1$$\end{document}]]></tex-math> bound",
         r"A $\alpha_1$ bound"),
        (r"Rates &lt;tex-math&gt;\beta &amp;lt; 1&lt;/tex-math&gt; and more", r"Rates $\beta < 1$ and more"),
        # An unclosed formula loses its tags, not its words.
        ("Plain <mml:math><mml:mi>x</mml:mi> end", "Plain x end"),
    ],
)  # fmt: skip
def test_namespaced_tags_mathml_and_tex_math_in_journal_titles_become_text(
    title: str, plain: str
) -> None:
    assert clean_title(title) == plain
    assert clean_title(plain) == plain
    assert clean_abstract(title) == plain


def test_unclosed_and_deeply_nested_formulas_are_cleaned_in_bounded_time() -> None:
    for hostile in (
        "<mml:math " * 10_000 + "x",
        "&lt;mml:math&gt;" * 8_000,
        "<mml:math>" + "<mml:mrow>" * 5_000 + "x" + "</mml:mrow>" * 5_000 + "</mml:math>",
        "<math>" + "<msup>" * 3_000 + "x" + "</msup>" * 3_000 + "</math>",
    ):
        started = time.monotonic()
        clean_abstract(hostile)
        assert time.monotonic() - started < 0.6


@pytest.mark.parametrize(
    ("tex", "plain"),
    [
        # From arxiv-rss-all-archives-2024-11-28.xml.
        (r"publication in {\em Sugaku}.", "publication in Sugaku."),
        (r"or (ii) a \emph{finite} number", "or (ii) a finite number"),
        (r"DiVincenzo {\it et al}. put forward", "DiVincenzo et al. put forward"),
        (r"task (\textbf{VLM-HOI}).", "task (VLM-HOI)."),
        (r"\textbf{AB}ductive \textbf{I}mitation", "ABductive Imitation"),
        (r"the \texttt{APFEL++} package", "the APFEL++ package"),
        (r"we dub ``iterative Combinatorial Brain Surgeon'' (iCBS)", "we dub “iterative Combinatorial Brain Surgeon” (iCBS)"),
        ('using ``expert models" learned', "using “expert models” learned"),
        (r"Schr\"odinger operator with P\"oschl--Teller potential", "Schrödinger operator with Pöschl–Teller potential"),
        ("Agent Centric Operating System -- a Comprehensive Review", "Agent Centric Operating System – a Comprehensive Review"),
        ("390 (2024) 4813--4859", "390 (2024) 4813–4859"),
        ("theory --- and more", "theory — and more"),
        (r"consistent with {\Lambda}CDM", "consistent with ΛCDM"),
        (r"Erd\H{o}s-Szekeres, Zden\v{e}k Frol\'{\i}k", "Erdős-Szekeres, Zdeněk Frolík"),
        (r"Mapping Attributes \& Preferences at 100\%", "Mapping Attributes & Preferences at 100%"),
        (r"available at \url{https://github.com/x/y}.", "available at https://github.com/x/y."),
        (r"open-sourced \href{https://github.com/k/e}{here}.", "open-sourced here (https://github.com/k/e)."),
        (r"library\footnote{\texttt{https://github.com/J/Cloud\_Map}} will", "library (https://github.com/J/Cloud_Map) will"),
    ],
)  # fmt: skip
def test_tex_text_macros_become_plain_text(tex: str, plain: str) -> None:
    assert clean_abstract(tex) == plain
    assert clean_title(tex) == plain


@pytest.mark.parametrize(
    "kept",
    [
        r"$\frac{1}{3}<s<1$",  # feedparser once turned this into <s> tags
        r"for $2+\frac{4}{N}<q<p\leq 2^*$ and $a<b>c$",
        r"the $\textbf{x}$ and $\emph{y}$ of math, $$\int_0^1 f$$",
        r"CeTa$_7$O$_{19}$ and $\mathcal{U}(\mathfrak{h})$",
        r"results in \cite{BCPR} and [\ion{N}{ii}] at \SI{100}{}",
        r"\begin{equation*} \Delta u = \mathbb{R}^{4} \end{equation*}",
        "pass --help or --verbose; costs \\$5",
        "O'Grady's tenfolds, AT&T and R&D",
    ],
)
def test_math_commands_with_arguments_and_plain_text_are_kept(kept: str) -> None:
    assert clean_abstract(kept) == kept
    assert clean_title(kept) == kept


@pytest.mark.parametrize(
    ("nested", "plain"),
    [
        (r"a \emph{\textbf{bold} word}", "a bold word"),
        (r"{\em \textit{\textbf{deep}}} <i>\emph{x}</i>", "deep x"),
    ],
)
def test_ordinary_nesting_is_fully_unwrapped(nested: str, plain: str) -> None:
    assert clean_title(nested) == plain
    assert clean_abstract(nested) == plain


def test_hostile_nesting_is_cleaned_in_bounded_time() -> None:
    # One layer unwraps per pass: unbounded, 9,000 layers took minutes (quadratic).
    nested = "\\emph{" * 9000 + "x" + "}" * 9000
    started = time.monotonic()
    title = clean_title(nested)
    assert time.monotonic() - started < 0.6
    started = time.monotonic()
    abstract = clean_abstract(nested)
    assert time.monotonic() - started < 0.6
    # Layers past the cap stay as they are: such text was never a real title.
    assert "x" in title and title.count("\\emph{") == title.count("}") < 9000
    assert abstract == title


def test_cleaning_every_recorded_arxiv_item_is_idempotent_and_leaves_no_text_macros() -> None:
    items = [
        arxiv_rss.normalise(raw)
        for raw in arxiv_rss.parse(fixture_bytes("arxiv-rss-all-archives-2024-11-28.xml")).entries
    ]
    assert len(items) == 1504
    for item in items:
        title = clean_title(item.title)
        abstract = clean_abstract(item.abstract, title=title)
        assert clean_title(title) == title
        assert clean_abstract(abstract, title=title) == abstract
        outside_math = re.sub(r"\$[^$]*\$", "", title + " " + abstract)
        assert not re.search(r"\\(?:emph|textit|textbf|em\b|it\b)|``|\\\"", outside_math), item.key
    # Math is untouched: as many dollar signs as arXiv sent.
    assert sum(clean_abstract(i.abstract).count("$") for i in items) == sum(
        i.abstract.count("$") for i in items
    )


def test_nature_boilerplate_is_removed_and_an_abstract_that_only_repeats_the_title_is_dropped() -> (
    None
):
    html = (
        '<p>Nature, Published online: 18 July 2024; <a href="https://www.nature.com/articles/'
        's41586-024-07811-4" rel="noopener noreferrer nofollow">doi:10.1038/s41586-024-07811-4</a>'
        "</p>Enzymes embedded directly into the material allows PLA plastic to break down."
    )
    assert clean_abstract_html(html) == (
        "Enzymes embedded directly into the material allows PLA plastic to break down."
    )
    text = (
        "Nature, Published online: 17 July 2024; doi:10.1038/d41586-024-02356-y Enzymes embedded."
    )
    assert clean_abstract(text) == "Enzymes embedded."
    title = "Catalysis of an S<sub>N</sub>2 pathway by geometric preorganization"
    only_title = html.split("</p>")[0] + "</p>" + title
    assert clean_abstract_html(only_title, title=clean_title(title)) == ""
    assert clean_abstract(html_to_text(only_title), title=clean_title(title)) == ""
    # "Published online" inside a sentence is the author's, not boilerplate.
    sentence = "Results were first Published online: in a blog; doi:10.1/x was later assigned."
    assert clean_abstract("We report. " + sentence) == "We report. " + sentence


# --- at ingest ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_recorded_nature_feed_is_stored_without_markup_or_boilerplate() -> None:
    source = journal_source(slug="nature", label="Nature")
    body_ingest(source, fixture_bytes("nature-rss-2024-07-18.rdf"))
    papers = Paper.objects.all()
    assert papers.count() == 75
    for paper in papers:
        assert not re.search(r"<|&lt;|&#|\xa0", paper.title), paper.title
        assert "Published online" not in paper.abstract + paper.abstract_html
        assert paper.abstract != paper.title
    sn2 = papers.get(doi="10.1038/s41586-024-07811-4")
    assert sn2.title == "Catalysis of an SN2 pathway by geometric preorganization"
    # Its only text after the boilerplate was the title again: no abstract rather than a copy.
    assert (sn2.abstract, sn2.abstract_html) == ("", "")
    crystals = papers.get(title__startswith="Superconductivity in pressurized")
    assert crystals.title.endswith("La4Ni3O10−δ single crystals")
    assert crystals.abstract_html.startswith("The application of pressure")


@pytest.mark.django_db
def test_arxiv_tex_and_escaped_journal_markup_are_stored_plain() -> None:
    arxiv = SourceFactory.create(slug="cl")
    body_ingest(
        arxiv,
        arxiv_feed(
            arxiv_item(
                "2411.17860",
                title=r"Schr\"odinger operators with P\"oschl--Teller potential",
                abstract=r"We prove a {\em sharp} bound for $\frac{1}{3}<s<1$, ``remarkably''.",
            )
        ),
    )
    science = journal_source()
    body_ingest(
        science,
        journal_feed(
            journal_item("10.1126/science.adq0001", title="&lt;i&gt;Drosophila&lt;/i&gt; wings")
        ),
    )
    preprint = Paper.objects.get(key="2411.17860")
    assert preprint.title == "Schrödinger operators with Pöschl–Teller potential"
    assert preprint.abstract == r"We prove a sharp bound for $\frac{1}{3}<s<1$, “remarkably”."
    assert Paper.objects.get(key="10.1126/science.adq0001").title == "Drosophila wings"


@pytest.mark.django_db
def test_journal_titles_with_small_caps_mathml_and_tex_math_are_stored_and_shown_as_text(
    client: Client,
) -> None:
    # As Wiley-style feeds send them: markup escaped in the title, or inside CDATA.
    science = journal_source()
    body_ingest(
        science,
        journal_feed(
            journal_item(
                "10.1002/anie.202400001",
                title="Cu‐Catalysed &lt;scp&gt;C&lt;/scp&gt;–&lt;scp&gt;H&lt;/scp&gt; Activation",
            ),
            journal_item(
                "10.1002/anie.202400002",
                title='<![CDATA[Spin Waves in <mml:math xmlns:mml="http://www.w3.org/1998/Math/'
                'MathML"><mml:msub><mml:mi>CrI</mml:mi><mml:mn>3</mml:mn></mml:msub>'
                "</mml:math> Monolayers]]>",
            ),
            journal_item(
                "10.1002/anie.202400003",
                title="Gaps of &lt;tex-math&gt;\\Delta &amp;lt; 1&lt;/tex-math&gt; meV in "
                "&lt;inline-graphic xlink:href=&quot;a.gif&quot;/&gt;&lt;i&gt;Nb&lt;/i&gt; films",
            ),
        ),
    )
    titles = dict(Paper.objects.values_list("key", "title"))
    assert titles == {
        "10.1002/anie.202400001": "Cu‐Catalysed C–H Activation",
        "10.1002/anie.202400002": "Spin Waves in CrI₃ Monolayers",
        "10.1002/anie.202400003": r"Gaps of $\Delta < 1$ meV in Nb films",
    }
    html = client.get("/").content.decode()
    page = html.split("<main", 1)[1]
    for leftover in ("scp", "mml:", "tex-math", "inline-graphic", "&lt;i&gt;", "&amp;lt;"):
        assert leftover not in page, leftover
    # The math's own "<" is text for KaTeX, escaped as any text is.
    assert r"Gaps of $\Delta &lt; 1$ meV in Nb films" in page
    assert "Spin Waves in CrI₃ Monolayers" in text_of(html)


def test_a_word_glued_to_the_boilerplates_doi_is_kept() -> None:
    glued = (
        "Nature, Published online: 17 July 2024; doi:10.1038/d41586-024-02356-yEnzymes embedded."
    )
    assert clean_abstract(glued) == "Enzymes embedded."
    spaced = "Nature, Published online: 17 July 2024; doi:10.1038/d41586-024-02356-y\n\nEnzymes."
    assert clean_abstract(spaced) == "Enzymes."


# --- rows stored before: shown clean, cleaned by the migration -------------------------------

DIRTY_TITLE = "<i>Drosophila</i> wing &lt;sub&gt;discs&lt;/sub&gt; in {\\em vivo}"
CLEAN_TITLE = "Drosophila wing discs in vivo"
BOILERPLATE = "Nature, Published online: 18 July 2024; doi:10.1038/s41586-024-00001-1 "


def stored_dirty_journal_paper() -> Paper:
    """A journal paper as an older version of the pipeline stored it."""
    return journal_paper(
        source=journal_source(slug="nature", label="Nature"),
        doi="10.1038/s41586-024-00001-1",
        title=DIRTY_TITLE,
        abstract=BOILERPLATE + "Wings ``grow'' in \\textit{vivo}.",
        abstract_html="",
    )


@pytest.mark.django_db
def test_the_front_page_card_and_the_paper_page_show_no_literal_tags(client: Client) -> None:
    stored_dirty_journal_paper()
    for url in ("/", "/papers/10.1038/s41586-024-00001-1/"):
        html = client.get(url).content.decode()
        text = text_of(html)
        assert CLEAN_TITLE in text, url
        assert "Wings “grow” in vivo." in text, url
        # Neither as escaped literal tags nor as live ones, nor TeX or boilerplate.
        for leftover in ("&lt;i&gt;", "&amp;lt;", "<i>Drosophila", "{\\em", "Published online"):
            assert leftover not in html, (url, leftover)
    paper_page = client.get("/papers/10.1038/s41586-024-00001-1/").content.decode()
    assert f"<title>{CLEAN_TITLE} · AcademicHub</title>" in paper_page
    assert f'<meta name="citation_title" content="{CLEAN_TITLE}">' in paper_page


@pytest.mark.django_db
def test_search_results_show_clean_titles_once_stored_rows_are_cleaned(client: Client) -> None:
    paper = stored_dirty_journal_paper()
    migration = importlib.import_module("feeds.migrations.0002_clean_stored_text")
    migration.clean_stored_text(django_apps, None)
    paper.refresh_from_db()
    assert paper.title == CLEAN_TITLE
    assert paper.abstract == "Wings “grow” in vivo."
    html = client.get("/search/", {"q": "Drosophila"}).content.decode()
    assert "Drosophila" in text_of(html) and "wing discs in vivo" in text_of(html)
    assert "&lt;" not in html.replace("&lt;mark", "") and "{\\em" not in html


@pytest.mark.django_db
def test_the_migration_changes_nothing_on_clean_rows_and_renames_sample_sources() -> None:
    clean = arxiv_paper(title="A clean title", abstract="Plain words -- and $a<b$.")
    SourceFactory.create(
        slug="sample-nature", kind=Source.Kind.RSS, label="Nature (sample, 18 Jul 2024)"
    )
    before = Paper.objects.values().get(pk=clean.pk)
    migration = importlib.import_module("feeds.migrations.0002_clean_stored_text")
    migration.clean_stored_text(django_apps, None)
    migration.clean_stored_text(django_apps, None)
    after = Paper.objects.values().get(pk=clean.pk)
    assert after["abstract"] == "Plain words – and $a<b$."
    assert {k: v for k, v in after.items() if k != "abstract"} == {
        k: v for k, v in before.items() if k != "abstract"
    }
    assert Source.objects.get(slug="sample-nature").label == "Nature"


@pytest.mark.django_db
def test_a_cleaned_papers_summary_card_stays_its_card_so_it_is_not_summarised_again() -> None:
    paper = stored_dirty_journal_paper()
    prompt_version, model = current_key()
    card = card_for(paper, prompt_version=prompt_version, model=model)
    migration = importlib.import_module("feeds.migrations.0002_clean_stored_text")
    migration.clean_stored_text(django_apps, None)
    paper.refresh_from_db()
    assert paper.title == CLEAN_TITLE
    assert cards_ensure([paper]) == {paper.pk: card}
    assert Card.objects.count() == 1
    assert Card.objects.get().status == "done"


@pytest.mark.django_db(transaction=True)
def test_the_migration_leaves_a_card_where_the_cleaned_text_already_has_one() -> None:
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    before = [("feeds", "0001_initial")] + [node for node in latest if node[0] != "feeds"]
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        OldPaper, OldCard = old.get_model("feeds", "Paper"), old.get_model("digests", "Card")
        paper = OldPaper.objects.create(
            key="doi:10.1038/dirty",
            title=r"A \emph{dirty} title",
            abstract="Plain words.",
            announced=date(2024, 7, 18),
            content_hash="x",
        )
        dirty, clean = (
            text_hash(title, "Plain words.") for title in (paper.title, "A dirty title")
        )
        for text, prompt_version in [(dirty, "v1"), (clean, "v1"), (dirty, "v2")]:
            OldCard.objects.create(
                paper=paper, text_hash=text, prompt_version=prompt_version, model="m"
            )
    finally:
        # Forward again whatever happened: the rest of the run needs the latest schema.
        MigrationExecutor(connection).migrate(latest)

    assert Paper.objects.get(pk=paper.pk).title == "A dirty title"
    # One card at the cleaned text per prompt version and model; the one that had no place
    # there moved, the other stayed behind (unread).
    assert sorted(
        Card.objects.filter(paper_id=paper.pk).values_list("text_hash", "prompt_version")
    ) == sorted([(clean, "v1"), (clean, "v2"), (dirty, "v1")])


# --- sample sources ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_sample_sources_are_labelled_as_the_real_sources(client: Client) -> None:
    call_command("demo", stdout=io.StringIO())
    labels = dict(Source.objects.filter(slug__startswith="sample-").values_list("slug", "label"))
    assert labels == {
        "sample-arxiv": "arXiv",
        "sample-nature": "Nature",
        "sample-biorxiv": "bioRxiv",
    }
    nature = Paper.objects.filter(sightings__source__slug="sample-nature").first()
    assert nature is not None
    for url in ("/", f"/papers/{nature.key}/", f"/?date={date(2024, 7, 18).isoformat()}"):
        assert "(sample" not in client.get(url).content.decode(), url
