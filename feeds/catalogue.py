"""The default source catalogue created by `manage.py seed_sources`."""

from __future__ import annotations

from datetime import timedelta

from feeds.models import Source

ARXIV_CATEGORIES = [
    ("cs.AI", "Computer Science"),
    ("cs.CL", "Computer Science"),
    ("cs.CV", "Computer Science"),
    ("cs.LG", "Computer Science"),
    ("cs.IR", "Computer Science"),
    ("cs.CY", "Computer Science"),
    ("stat.ML", "Statistics"),
    ("quant-ph", "Physics"),
    ("math.PR", "Mathematics"),
    ("q-bio", "Quantitative Biology"),
]

# slug, kind, url, label, discipline, poll interval
JOURNALS_AND_PREPRINTS = [
    ("biorxiv", Source.Kind.BIORXIV_API, "https://api.biorxiv.org/details/biorxiv",
     "bioRxiv", "Biology", timedelta(hours=2)),
    ("medrxiv", Source.Kind.MEDRXIV_API, "https://api.biorxiv.org/details/medrxiv",
     "medRxiv (Medicine)", "Medicine", timedelta(hours=2)),
    # Nature's feed holds 75 items: poll often enough that none fall out of the window.
    ("nature", Source.Kind.RSS, "https://www.nature.com/nature.rss",
     "Nature", "Multidisciplinary", timedelta(hours=6)),
    ("science", Source.Kind.RSS,
     "https://www.science.org/action/showFeed?type=etoc&feed=rss&jc=science",
     "Science", "Multidisciplinary", timedelta(hours=6)),
    ("plos-medicine", Source.Kind.RSS, "https://journals.plos.org/plosmedicine/feed/atom",
     "PLOS Medicine", "Medicine", timedelta(hours=6)),
    ("cell", Source.Kind.RSS, "https://www.cell.com/cell/current.rss",
     "Cell", "Biology", timedelta(hours=6)),
    ("nejm", Source.Kind.RSS, "https://www.nejm.org/action/showFeed?jc=nejm&type=etoc&feed=rss",
     "NEJM", "Medicine", timedelta(hours=6)),
]  # fmt: skip


def sources_seed() -> tuple[int, int]:
    """Create the default catalogue; existing rows are left as staff configured them."""
    created = existing = 0
    rows = [
        (
            f"arxiv-{category.lower().replace('.', '-')}",
            Source.Kind.ARXIV_RSS,
            f"https://rss.arxiv.org/rss/{category}",
            f"arXiv ({category})",
            discipline,
            timedelta(hours=1),
        )
        for category, discipline in ARXIV_CATEGORIES
    ] + JOURNALS_AND_PREPRINTS
    for slug, kind, url, label, discipline, interval in rows:
        _, made = Source.objects.get_or_create(
            slug=slug,
            defaults={
                "kind": kind,
                "url": url,
                "label": label,
                "discipline": discipline,
                "poll_interval": interval,
            },
        )
        if made:
            created += 1
        else:
            existing += 1
    return created, existing
