"""Views of the digests app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from digests.selectors import card_for_paper
from feeds.models import Paper

CARD_LANGUAGES = {"en", "zh", "both"}


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@require_GET
def card_detail(request: HtmxHttpRequest, paper_id: int) -> HttpResponse:
    """A paper's summary card: the partial for htmx (polling, language toggle), else a page.

    Cards are shared by everyone, like the papers: any visitor may read any card; `?lang=`
    (en, zh, both) overrides the reader's preferred card language for this one card.
    """
    paper = get_object_or_404(Paper.objects.only("id", "key", "title"), id=paper_id)
    lang = request.GET.get("lang", "")
    context = {
        "paper": paper,
        "card": card_for_paper(paper.pk),
        "lang": lang if lang in CARD_LANGUAGES else "",
    }
    if request.htmx:
        return render(request, "digests/_card.html", context)
    return render(request, "digests/card.html", context)
