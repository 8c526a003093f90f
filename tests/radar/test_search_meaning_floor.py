"""What counts as close in meaning on /search: a query about something has a tail of papers
well above its closeness to papers at large; a made-up word does not, and finds nothing by
meaning (before, 'xyzzyqq' listed nine papers 'close in meaning (0.82)')."""

from __future__ import annotations

import numpy as np
import pytest

from radar.embedding import DIM
from radar.models import PaperEmbedding
from radar.search import SEMANTIC_FLOOR, SEMANTIC_SAMPLE_MIN, meaning_floor
from tests.factories import PaperFactory
from tests.radar.test_band import vectors_at

pytestmark = pytest.mark.django_db


def _papers_at(cosines: np.ndarray, axis: np.ndarray) -> None:
    rows = vectors_at(cosines.astype(np.float32), axis, np.random.default_rng(3))
    papers = PaperFactory.create_batch(len(rows))
    PaperEmbedding.objects.bulk_create(
        PaperEmbedding(paper=p, vector=v.tolist(), model="test")
        for p, v in zip(papers, rows, strict=True)
    )


def _axis() -> np.ndarray:
    axis = np.zeros(DIM, dtype=np.float32)
    axis[0] = 1.0
    return axis


def test_a_query_close_to_nothing_in_particular_finds_nothing_by_meaning() -> None:
    # As a made-up word: every paper at 0.78 ± 0.012, the closest few at 0.82 (above the
    # absolute floor), no tail.
    rng = np.random.default_rng(2)
    _papers_at(np.concatenate([rng.normal(0.78, 0.012, 296), np.full(4, 0.82)]), _axis())
    assert meaning_floor(_axis()) is None


def test_a_query_about_something_keeps_the_papers_standing_out() -> None:
    # As a real topic: most papers at 0.79, a tail of ten at 0.88-0.90.
    rng = np.random.default_rng(2)
    _papers_at(np.concatenate([rng.normal(0.79, 0.012, 290), np.linspace(0.88, 0.9, 10)]), _axis())
    floor = meaning_floor(_axis())
    assert floor is not None
    assert 0.83 < floor < 0.88  # the median and a margin: the tail is in, the crowd is out


def test_too_few_papers_to_judge_keep_the_absolute_floor() -> None:
    _papers_at(np.full(SEMANTIC_SAMPLE_MIN - 1, 0.78), _axis())
    assert meaning_floor(_axis()) == SEMANTIC_FLOOR
