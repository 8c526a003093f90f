"""Sources polled, papers stored (one row per work), and which feed saw which paper."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Source(models.Model):
    """A feed or API we poll, with its polling state (miniflux style: state on the row)."""

    class Kind(models.TextChoices):
        ARXIV_RSS = "arxiv_rss", "arXiv RSS"
        ARXIV_API = "arxiv_api", "arXiv API"
        BIORXIV_API = "biorxiv_api", "bioRxiv API"
        MEDRXIV_API = "medrxiv_api", "medRxiv API"
        RSS = "rss", _("Journal RSS/Atom")

    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    url = models.URLField(max_length=1000)
    label = models.CharField(_("label"), max_length=120)
    discipline = models.CharField(_("discipline"), max_length=80, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    poll_interval = models.DurationField(default=timedelta(hours=1))

    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    # Adapter-specific progress (e.g. the last day harvested from bioRxiv).
    state = models.JSONField(default=dict, blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    next_check_at = models.DateTimeField(_("next check"), default=timezone.now, db_index=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    items_last_time = models.IntegerField(_("items last time"), null=True, blank=True)
    # Characters the last successful poll could not read intact (bad bytes, NUL …).
    warnings_last_time = models.IntegerField(_("warnings last time"), null=True, blank=True)
    # Claimed by a poll until then, so two workers never poll one source at once. The token
    # is the claiming task's id: a redelivered task (its worker died) may take it back.
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=64, blank=True)
    error_count = models.IntegerField(_("errors in a row"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_kind = models.CharField(_("last error kind"), max_length=40, blank=True)

    class Meta:
        ordering = ["label"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self) -> str:
        return self.label

    @property
    def paused(self) -> bool:
        """At the error limit the source leaves the polling batches until reset."""
        return self.error_count >= int(settings.SOURCE_ERROR_LIMIT)


# The kinds that carry arXiv's papers (by feed or API), as stored in Source.kind.
ARXIV_KINDS = frozenset({Source.Kind.ARXIV_RSS.value, Source.Kind.ARXIV_API.value})


class Paper(models.Model):
    """One work, whatever feeds carried it. Key: arXiv id, else DOI, else a hash of the link."""

    class AnnounceType(models.TextChoices):
        NEW = "new", _("new")
        CROSS = "cross", _("cross-list")
        REPLACE = "replace", _("updated")
        REPLACE_CROSS = "replace-cross", _("updated cross-list")

    key = models.CharField(_("key"), max_length=255, unique=True)
    arxiv_id = models.CharField(max_length=40, blank=True, db_index=True)
    doi = models.CharField(max_length=255, blank=True, db_index=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    announce_type = models.CharField(
        _("announced as"), max_length=20, choices=AnnounceType.choices, default=AnnounceType.NEW
    )
    title = models.TextField(_("title"))
    abstract = models.TextField(blank=True)
    # Sanitised (nh3) HTML for sources whose abstracts are HTML; empty otherwise.
    abstract_html = models.TextField(blank=True)
    authors = ArrayField(models.TextField(), default=list, blank=True)
    affiliations = ArrayField(models.TextField(), default=list, blank=True)
    primary_category = models.CharField(_("primary category"), max_length=80, blank=True)
    categories = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    announced = models.DateField(_("announced"), db_index=True)
    published = models.DateField(null=True, blank=True)
    journal_ref = models.TextField(blank=True)
    journal_doi = models.CharField(max_length=255, blank=True, db_index=True)
    links = models.JSONField(default=dict, blank=True)
    # Hash of the stored fields: a re-load of an unchanged feed writes nothing.
    content_hash = models.CharField(max_length=64)
    search_vector = models.GeneratedField(
        expression=SearchVector("title", weight="A", config="english")
        + SearchVector("abstract", weight="B", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            GinIndex(fields=["search_vector"], name="paper_search_gin"),
            GinIndex(fields=["categories"], name="paper_categories_gin"),
            models.Index(fields=["-announced", "id"], name="paper_announced_idx"),
            # The matching sweep's window (academichub.pipeline.papers_match_sweep).
            models.Index(fields=["created_at"], name="paper_created_idx"),
        ]
        verbose_name = _("paper")
        verbose_name_plural = _("papers")

    def __str__(self) -> str:
        return self.title[:80]


class PaperSighting(models.Model):
    """That a source carried a paper, and as what (new, cross-list, replacement)."""

    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="sightings", verbose_name=_("source")
    )
    paper = models.ForeignKey(
        Paper, on_delete=models.CASCADE, related_name="sightings", verbose_name=_("paper")
    )
    announce_type = models.CharField(_("announced as"), max_length=20, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    # Fingerprint of the raw entry this source last sent: an identical entry is skipped
    # before it is even normalised, which makes re-reading an unchanged feed cheap.
    raw_hash = models.CharField(max_length=40, blank=True)
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "paper"], name="sighting_source_paper_uniq")
        ]
        indexes = [models.Index(fields=["source", "raw_hash"], name="sighting_raw_hash_idx")]
        verbose_name = _("paper sighting")
        verbose_name_plural = _("paper sightings")
