"""Stored papers cleaned as new ones are at ingest (`feeds.pipeline.text`): no stray markup,
TeX text macros or journal boilerplate in titles and abstracts; sample sources named as the
real ones. Running it twice changes nothing; going back leaves the cleaned text.

Summary cards are keyed by a hash of title and abstract (`digests.cards.text_hash`): a
cleaned paper's cards move to the new hash, so no paper is summarised a second time."""

import hashlib

from django.db import migrations
from django.db.models import Q

from feeds.pipeline.text import clean_abstract, clean_abstract_html, clean_title

# Only rows with something the cleaning could change are read: markup, entities, TeX, quotes,
# dashes, the boilerplate.
_MAYBE_DIRTY = r"[<&\\`{]|''|--|Published online:"
_SAMPLE_LABELS = {"sample-arxiv": "arXiv", "sample-nature": "Nature", "sample-biorxiv": "bioRxiv"}


def _text_hash(title, abstract):
    # digests.cards.text_hash as it is when this migration is written.
    return hashlib.sha256(f"{title}\n{abstract}".encode()).hexdigest()


def _save(Paper, Card, changed):
    Paper.objects.bulk_update([paper for paper, _ in changed], ["title", "abstract", "abstract_html"])
    for paper, old_hash in changed:
        Card.objects.filter(paper_id=paper.pk, text_hash=old_hash).update(
            text_hash=_text_hash(paper.title, paper.abstract)
        )


def clean_stored_text(apps, schema_editor):
    Paper = apps.get_model("feeds", "Paper")
    Source = apps.get_model("feeds", "Source")
    Card = apps.get_model("digests", "Card")
    rows = (
        Paper.objects.filter(
            Q(title__regex=_MAYBE_DIRTY)
            | Q(abstract__regex=_MAYBE_DIRTY)
            | Q(abstract_html__contains="Published online:")
        )
        .only("id", "title", "abstract", "abstract_html")
        .order_by("id")
    )
    changed = []
    for paper in rows.iterator(chunk_size=2000):
        title = clean_title(paper.title) or paper.title
        abstract = clean_abstract(paper.abstract, title=title)
        abstract_html = clean_abstract_html(paper.abstract_html, title=title)
        if (title, abstract, abstract_html) != (paper.title, paper.abstract, paper.abstract_html):
            old_hash = _text_hash(paper.title, paper.abstract)
            paper.title, paper.abstract, paper.abstract_html = title, abstract, abstract_html
            changed.append((paper, old_hash))
        if len(changed) >= 500:
            _save(Paper, Card, changed)
            changed = []
    _save(Paper, Card, changed)
    for slug, label in _SAMPLE_LABELS.items():
        Source.objects.filter(slug=slug, label__contains="(sample").update(label=label)


class Migration(migrations.Migration):
    # Cards live in digests; its first migration made them.
    dependencies = [("feeds", "0001_initial"), ("digests", "0001_initial")]

    operations = [migrations.RunPython(clean_stored_text, migrations.RunPython.noop)]
