"""A radar learns from its 👍 papers what the embedding misses: their primary categories and
the words they share (`radar.profiles.likes_learned`), the liked part of the score."""

from __future__ import annotations

import re

import numpy as np
import pytest
from django.urls import reverse

from accounts.models import Profile
from radar.models import Feedback
from radar.profiles import likes_learned, radar_profile_update
from radar.query import normalise
from radar.reasons import LearnedFrom, reasons_text
from radar.scoring import LIKED_CATEGORY, LIKED_WORDS_MAX, PaperIn, RadarIn, radars_score_batch
from radar.words import WordStats, tfidf_index, tfidf_mean
from tests.factories import PaperFactory, RadarFactory, make_user, signed_in

JAILBREAK = ("Jailbreak attacks on chat models", "A jailbreak prompt makes the model harmful.")
JAILBREAK_2 = ("Universal jailbreak suffixes", "Adversarial jailbreak suffixes transfer.")
FOLDING = ("Protein folding with transformers", "Structure prediction of proteins.")
# A reference set where the three are rare among other papers (as in a day of arXiv).
STATS = WordStats.count(
    [normalise(f"{t} {a}") for t, a in (JAILBREAK, JAILBREAK_2, FOLDING)]
    + [f"galaxy survey number {n}" for n in range(40)]
)


def test_likes_learned_counts_categories_and_keeps_the_shared_words() -> None:
    learned = likes_learned(
        [(*JAILBREAK, "cs.CR"), (*JAILBREAK_2, "cs.CR"), (*FOLDING, "q-bio.BM")], STATS
    )
    assert learned["categories"] == pytest.approx({"cs.CR": 2 / 3, "q-bio.BM": 1 / 3})
    words = learned["words"]
    # In two of the three liked papers: the largest weight of their mean.
    assert max(words, key=words.__getitem__) == "jailbreak"
    assert likes_learned([], STATS) == {"categories": {}, "words": {}}


def test_a_text_s_cosine_to_the_mean_is_its_postings_times_the_mean() -> None:
    texts = [normalise(f"{t} {a}") for t, a in (JAILBREAK, JAILBREAK_2)]
    mean = tfidf_mean(texts, STATS, keep=100)
    index = tfidf_index(texts, mean, STATS)
    cosine = sum(
        value * index.shares[index.starts[index.rows[w]] : index.starts[index.rows[w] + 1]][0]
        for w, value in mean.items()
    )
    # The first text against the mean of both: positive, below 1, and its own words count.
    assert 0.3 < cosine < 1.0


def _paper(i: int, text: tuple[str, str], category: str) -> PaperIn:
    return PaperIn(
        id=i,
        title_norm=normalise(text[0]),
        abstract_norm=normalise(text[1]),
        categories=frozenset({category}),
        primary_category=category,
    )


def test_the_liked_part_lifts_papers_like_the_liked_ones_over_the_threshold() -> None:
    papers = [_paper(0, JAILBREAK_2, "cs.CR"), _paper(1, FOLDING, "q-bio.BM")]
    # Both papers equally close in meaning, just under the threshold on meaning alone.
    vectors = np.zeros((2, 4), dtype=np.float32)
    vectors[:, 0] = 1.0
    profile = np.array([[1.0, 0, 0, 0]], dtype=np.float32)
    plain = RadarIn(id=7, threshold=60.0, sim_floor=0.0, sim_ceil=1.0)
    assert radars_score_batch(papers, [plain], vectors, profile, STATS) == []

    learned = likes_learned([(*JAILBREAK, "cs.CR")], STATS)
    taught = RadarIn(
        id=7,
        threshold=60.0,
        sim_floor=0.0,
        sim_ceil=1.0,
        liked_categories=learned["categories"],
        liked_words=learned["words"],
    )
    (match,) = radars_score_batch(papers, [taught], vectors, profile, STATS)
    assert match.paper_id == 0
    liked = [points for kind, _value, points in match.reasons if kind == "liked"]
    assert LIKED_CATEGORY < liked[0] <= LIKED_CATEGORY + LIKED_WORDS_MAX
    assert match.score == pytest.approx(50.0 + liked[0], abs=0.1)
    liked_text = reasons_text(match.reasons, learned_from=LearnedFrom.LIKES)
    assert any(t.startswith("like the papers you liked: +") for t in liked_text)


@pytest.mark.django_db
def test_the_profile_update_stores_what_the_owner_s_likes_taught() -> None:
    radar = RadarFactory.create(description="LLM jailbreaks")
    liked = PaperFactory.create(
        title=JAILBREAK[0], abstract=JAILBREAK[1], primary_category="cs.CR", categories=["cs.CR"]
    )
    disliked = PaperFactory.create(
        title=FOLDING[0], abstract=FOLDING[1], primary_category="q-bio.BM", categories=[]
    )
    Feedback.objects.create(user=radar.owner, radar=radar, paper=liked, value=1)
    Feedback.objects.create(user=radar.owner, radar=radar, paper=disliked, value=-1)
    radar_profile_update(radar)
    radar.refresh_from_db()
    assert radar.learned["categories"] == {"cs.CR": 1.0}
    assert "jailbreak" in radar.learned["words"]
    assert "protein" not in radar.learned["words"]
    # Without 👍 papers or examples there is nothing learned.
    Feedback.objects.filter(paper=liked).delete()
    radar_profile_update(radar)
    radar.refresh_from_db()
    assert radar.learned == {}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "start", "end"),
    [
        (
            "en",
            "Learned from the papers you liked: cs.CR 100 % · ",
            f"(papers like these get up to {LIKED_CATEGORY + LIKED_WORDS_MAX:.0f} more points)",
        ),
        (
            "zh-hans",
            "从你点赞的论文中学到： cs.CR 密码学与安全 100 % · ",
            f"(与之相似的论文最多加 {LIKED_CATEGORY + LIKED_WORDS_MAX:.0f} 分)",
        ),
    ],
)
def test_the_owner_sees_what_the_radar_learned_and_others_do_not(
    language: str, start: str, end: str
) -> None:
    radar = RadarFactory.create(description="LLM jailbreaks", public=True)
    Profile.objects.update_or_create(user=radar.owner, defaults={"language": language})
    liked = PaperFactory.create(
        title=JAILBREAK[0], abstract=JAILBREAK[1], primary_category="cs.CR", categories=["cs.CR"]
    )
    page = reverse("radar:radar_feed", args=[radar.id])
    assert 'id="learned"' not in signed_in(radar.owner).get(page).text

    Feedback.objects.create(user=radar.owner, radar=radar, paper=liked, value=1)
    radar_profile_update(radar)
    html = signed_in(radar.owner).get(page).text
    learned = re.search(r'<p class="learned helptext" id="learned">(.*?)</p>', html, re.S)
    assert learned, html
    text = " ".join(learned.group(1).split())
    assert text.startswith(start), text
    assert "jailbreak" in text
    assert text.endswith(end), text
    # A follower of the public topic sees its papers, not what its owner's ratings taught it.
    stranger = signed_in(make_user("stranger@example.org"))
    assert 'id="learned"' not in stranger.get(page).text
