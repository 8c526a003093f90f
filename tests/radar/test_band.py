"""Each radar's similarity band comes from recent papers: a profile whose similarities all run
lower (a Chinese description against English papers) still finds its closest papers."""

from __future__ import annotations

import numpy as np
import pytest

from radar.embedding import DIM
from radar.models import PaperEmbedding
from radar.profiles import BAND_MIN_PAPERS, band_for
from radar.scoring import SIM_CEIL, SIM_FLOOR, PaperIn, RadarIn, radars_score_batch
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

THRESHOLD = 30.0


def vectors_at(cosines: np.ndarray, axis: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit rows whose cosine with the unit vector `axis` is exactly each of `cosines`."""
    noise = rng.standard_normal((len(cosines), DIM)).astype(np.float32)
    noise -= np.outer(noise @ axis, axis)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    rows = cosines[:, None] * axis + np.sqrt(1 - cosines[:, None] ** 2) * noise
    return rows.astype(np.float32)


def test_the_band_follows_the_profiles_own_similarities_and_keeps_the_closest_papers() -> None:
    rng = np.random.default_rng(1)
    axis = np.zeros(DIM, dtype=np.float32)
    axis[0] = 1.0
    # Like a Chinese description: most papers at 0.77 ± 0.01, the on-topic few at 0.82.
    cosines = np.concatenate([rng.normal(0.77, 0.01, 290), np.full(10, 0.82)]).astype(np.float32)
    rows = vectors_at(cosines, axis, rng)
    papers = PaperFactory.create_batch(len(rows))
    PaperEmbedding.objects.bulk_create(
        PaperEmbedding(paper=p, vector=v.tolist(), model="test")
        for p, v in zip(papers, rows, strict=True)
    )

    floor, ceil = band_for(axis)
    assert floor is not None and ceil is not None
    assert floor < SIM_FLOOR and ceil < SIM_CEIL  # the band moved down with the profile

    views = [PaperIn(p.pk, "x", "y") for p in papers]
    # A description-only radar with no words: meaning alone (at most W_MEANING) decides, so
    # its threshold sits under the on-topic papers' closeness (about 35 points in this band).
    banded = RadarIn(1, sim_floor=floor, sim_ceil=ceil, threshold=THRESHOLD)
    fixed = RadarIn(2, threshold=THRESHOLD)
    found = radars_score_batch(views, [banded, fixed], rows, np.stack([axis, axis]))
    by_radar = {r: {m.paper_id for m in found if m.radar_id == r} for r in (1, 2)}
    on_topic = {p.pk for p in papers[-10:]}
    assert by_radar[1] == on_topic  # its closest papers, and only those
    assert by_radar[2] == set()  # the fixed English band would have kept nothing


def test_too_few_embedded_papers_keep_the_default_band() -> None:
    axis = np.zeros(DIM, dtype=np.float32)
    axis[0] = 1.0
    for p in PaperFactory.create_batch(BAND_MIN_PAPERS - 1):
        PaperEmbedding.objects.create(paper=p, vector=axis.tolist(), model="test")
    assert band_for(axis) == (None, None)
    assert band_for(None) == (None, None)
