"""A description's words as a match names them: no letters or numbers cut out of "e.g." or
"PD-1", and plurals made singular so "properties" finds "property" and reads as a word."""

from __future__ import annotations

from radar.query import normalise
from radar.scoring import PaperIn, RadarIn, radars_score_batch
from radar.words import WordStats, description_words, tokens


def test_abbreviations_and_numbers_leave_no_stray_words() -> None:
    assert description_words("Checkpoint inhibitors (e.g. PD-1) in MSI-H tumours, 2024") == (
        "checkpoint",
        "inhibitor",
        "pd",
        "msi",
        "tumour",
    )
    # Letters and digits together are words: 5G, 3D, H2O.
    assert tokens("5g networks and 3d scenes of h2o") == ["5g", "network", "3d", "scene", "h2o"]


def test_plurals_are_made_singular_by_their_spelling() -> None:
    assert tokens("studies approaches processes indexes meshes models") == [
        "study",
        "approach",
        "process",
        "index",
        "mesh",
        "model",
    ]
    # Words that only look plural stay as they are; a plural in -ies, -ches of a word in -e
    # loses only its "s".
    assert tokens("status analysis debris class corpus series caches") == [
        "status",
        "analysis",
        "debris",
        "class",
        "corpus",
        "serie",
        "cache",
    ]
    assert tokens("property properties") == ["property", "property"]


def test_a_match_names_whole_words_and_finds_the_singular() -> None:
    papers = [
        PaperIn(1, normalise("Elastic property of graphene"), normalise("We measure it.")),
        PaperIn(2, normalise("Protein folding"), normalise("Structures from sequence.")),
    ]
    stats = WordStats(docs=1000, df={}, average_length=8.0)
    words = description_words("Mechanical properties of 2D materials, e.g. graphene")

    [match] = radars_score_batch(papers, [RadarIn(7, words=words, threshold=10)], stats=stats)

    assert match.paper_id == 1
    assert match.reasons[0][:2] == ("words", "property, graphene")
