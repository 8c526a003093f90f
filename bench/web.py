"""Web benchmark: Today, paper page, search, the radar pages and the API's paper list over
1,000,000 papers (gunicorn).

Generates 1,000,000 papers (about 2,250 per announcement day over ~1.7 years, with their
sightings), a done bilingual summary card for every paper of the last 30 days (`CARDS_SQL`),
10,000 users and 10,000 radars with their matches (see `RADARS_SQL`: one heavy
radar of the measured user holds ~58,000) in a throwaway PostgreSQL database, serves the
production settings (DEBUG off) with gunicorn on loopback, and loads each page with
concurrent clients (a thread and an HTTP connection each; gunicorn's sync workers close it
after every response, so it is re-opened). By default there is one client per gunicorn worker
(two workers, one per core of the machines we measure on): the workers are busy all the time,
and a request never waits behind another, so the figures are what a page costs with the
machine fully used. More clients than workers (`--clients 4`) add the time each request
waits for a free worker, about doubling the figures at twice as many clients. Figures are the median and 95th percentile latency of each page and its
ratio to `/healthz` (one `SELECT 1` through the same Django/gunicorn stack) measured in the
same run; query counts come from Django's test client on the same database, as does
`test_client_ms`: the best of three warm requests in this process (its settings, without
gunicorn or the concurrent load) and the time its SQL took, to tell queries from rendering.

The radar pages are requested by a signed-in user (bench-user-1, with three radars and a few
followed topics): a session row is created with the server's SECRET_KEY and its cookie sent by
every load client (plain HTTP as for the other pages: SECURE_SSL_REDIRECT is off, and a secure
cookie is only a flag for the browser, the server reads it over HTTP all the same).

The API's paper list is requested with a personal API token of the same user (the server's
per-token rate limit is lifted for the run: every load client shares the token).

Search is measured twice: "search" asks the same few terms again and again, as a next page
or a search asked again is (its ranking then comes from the cache, `radar.search.ranking_for`),
and "search-first-ask" makes every request a search never asked before (each term with an
alternative no paper has, "model OR zq17": the same papers, nothing cached); "search-question"
asks questions in plain words no paper holds all of ("how can diffusion help model in zq17?"),
each for the first time, so the papers holding most of their words are looked for.

Targets (DESIGN's budget): every page (Today, paper page, search all three ways, the API's paper
list and the radar pages: a radar's feed, the "My radars" day, the radars list, the topics
directory) p50 at most 50 ms and p95 at most 150 ms.

    python bench/web.py [--keep] [--regenerate] [--papers N] [--radars N] [--clients N]
        [--workers 2] [--duration 10]

The database is dropped at the end unless --keep; a kept database is reused by the next run
(generation takes a few minutes) unless --regenerate. gunicorn gets this process's environment
with the bench database and production settings on top, so e.g. `CONN_MAX_AGE=60 python
bench/web.py` measures persistent database connections.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academichub.settings")
os.environ["TEST_DATABASE_NAME"] = "bench_web"
os.environ.setdefault("EMBEDDED_REDIS_DB", "2")

import django  # noqa: E402

django.setup()

import environ  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    override_settings,
    setup_databases,
    teardown_databases,
)
from django.urls import reverse  # noqa: E402
from django.utils.html import escape  # noqa: E402

from accounts.services import profile_for  # noqa: E402
from feeds.catalogue import ARXIV_CATEGORIES, sources_seed  # noqa: E402

# Bump when the generated data changes: a kept database of another version is regenerated.
GENERATOR_VERSION = 3
# A kept database of version 2 (no cards) is brought to version 3 by adding the cards.
CARDLESS_VERSION = 2
# DESIGN's budget for every page: p50 <= 50 ms and p95 <= 150 ms.
TARGET_P50_MS = 50.0
TARGET_P95_MS = 150.0
TARGETS = (
    "today",
    "paper",
    "search",
    "search-first-ask",
    "search-question",
    "api-papers",
    "radar-heavy",
    "radar-heavy-page-20",
    "radar-typical",
    "my-radars",
    "radars",
    "topics",
)

# --- Generated text ----------------------------------------------------------------------------


def words(text: str) -> list[str]:
    return list(dict.fromkeys(text.split()))


# Vocabulary in (rough) frequency order: the r-th word is drawn with weight 1/r (Zipf), so the
# first words are in most abstracts and the last in a few percent.
VOCAB = words("""
model learning data network method results neural approach performance training graph
models deep problem framework analysis based using language large propose show time
information proposed systems system task tasks paper algorithm image new state quantum
methods accuracy evaluation representation features experiments existing efficient
distribution inference optimization work different structure multiple prediction
generation knowledge dataset datasets approaches high study process function known
present parameters benchmark reinforcement policy agents agent robust robustness
adversarial attention transformer transformers vision text retrieval semantic
generative diffusion sampling estimation stochastic random probability convergence
theoretical bounds complexity linear nonlinear sparse dense matrix tensor kernel
gradient descent loss objective regularization supervised unsupervised contrastive
pretraining fine tuning transfer domain adaptation shift generalization scaling
scalable computational cost memory efficiency hardware parallel distributed federated
privacy fairness bias social users user recommendation ranking search query queries
documents document summarization translation speech audio video temporal spatial
dynamics dynamical simulation physical physics field fields energy spin entanglement
qubits circuits circuit error correction noise measurement states operators hamiltonian
protein proteins gene genes expression cells cell molecular clinical patients disease
health medical imaging segmentation detection classification regression clustering
embedding embeddings latent variational autoencoder encoder decoder sequence sequences
token tokens context reasoning chain planning control robot robotic navigation
environment environments simulation benchmarks metrics human humans annotation labels
label noisy uncertainty calibration bayesian posterior prior causal causality
intervention counterfactual explanation interpretability explainable interpretable
theory theorem proof lemma markov chains processes brownian martingale limit asymptotic
estimator estimators statistical hypothesis testing sample samples variance mean
empirical evidence observations observational survey population epidemiological
infection vaccine treatment trial trials cohort risk factors mortality outcomes
neurons neuronal brain cortex synaptic plasticity behavior evolutionary evolution
species genome genomic sequencing variants mutations microbial bacterial immune
antibody receptor signaling pathway pathways tumor cancer therapy drug drugs design
""")
FUNCTION_WORDS = words(
    "the of and for a in to with on we is that by this our from as are which can"
)
FIRST_NAMES = words("""
Ada Alan Grace Claude John Marie Emmy Kurt Alonzo Barbara Donald Edsger Frances Geoffrey
Hedy Ivan Judea Katherine Leslie Margaret Niklaus Radia Shafi Tim Yann Yoshua Fei Li Wei
Ming Hui Jing Xin Yu Hao Lei Chen Priya Arjun Ravi Ananya Sanjay Olga Dmitri Sofia Elena
Lucas Mateo Camila Valentina Amara Kwame Chidi Fatima Omar Aisha Hiroshi Yuki Sakura Minho
Jiwoo Lars Ingrid Sven Astrid Pierre Amelie Hans Greta Marco Giulia
""")
LAST_NAMES = words("""
Lovelace Turing Hopper Shannon McCarthy Curie Noether Godel Church Liskov Knuth Dijkstra
Allen Hinton Lamarr Sutherland Pearl Johnson Lamport Hamilton Wirth Perlman Goldwasser
Berners-Lee LeCun Bengio Zhang Wang Li Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu
Guo He Lin Gao Luo Zheng Liang Xie Song Tang Han Feng Deng Cao Patel Sharma Singh Gupta
Kumar Reddy Iyer Rao Nair Ivanov Petrov Smirnova Kuznetsov Popova Garcia Martinez Lopez
Gonzalez Rodriguez Fernandez Silva Santos Oliveira Pereira Costa Okafor Mensah Adeyemi
Diallo Haddad Rahman Hassan Ali Khan Tanaka Suzuki Takahashi Watanabe Yamamoto Kim Lee
Park Choi Jung Kang Nielsen Hansen Larsen Andersson Johansson Muller Schmidt Schneider
Fischer Weber Meyer Wagner Becker Dubois Moreau Laurent Bernard Rossi Russo Ferrari
Bianchi Romano Smith Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin
Jackson White Harris Clark Lewis Robinson Walker Young King Wright Scott Green Baker Adams
Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans Turner Torres Parker Collins
""")
BIORXIV_CATEGORIES = [
    "bioinformatics", "neuroscience", "genomics", "cell biology", "microbiology",
    "immunology", "cancer biology", "evolutionary biology", "biophysics", "ecology",
]  # fmt: skip
MEDRXIV_CATEGORIES = [
    "epidemiology", "infectious diseases", "oncology", "public and global health",
    "health informatics", "cardiovascular medicine",
]  # fmt: skip
# Share of arXiv papers per catalogue category (in feeds.catalogue.ARXIV_CATEGORIES order).
ARXIV_WEIGHTS = {
    "cs.AI": 10, "cs.CL": 12, "cs.CV": 15, "cs.LG": 25, "cs.IR": 5,
    "cs.CY": 4, "stat.ML": 7, "quant-ph": 11, "math.PR": 6, "q-bio": 5,
}  # fmt: skip
N_SENTENCES = 40_000
N_TITLES = 40_000
N_TERMS = 100_000  # made-up method names, one in each title and one in each abstract
N_AUTHOR_LISTS = 20_000


def zipf_cum_weights(n: int) -> list[float]:
    total, out = 0.0, []
    for r in range(1, n + 1):
        total += 1.0 / r
        out.append(total)
    return out


def text_pools(rng: random.Random) -> dict[str, list[str]]:
    """Sentences, title phrases, made-up terms and author lists for the SQL to combine."""
    cum = zipf_cum_weights(len(VOCAB))

    def draw(n: int) -> list[str]:
        drawn = rng.choices(VOCAB, cum_weights=cum, k=n)
        return [rng.choice(FUNCTION_WORDS) if rng.random() < 0.35 else w for w in drawn]

    def sentence() -> str:
        text = " ".join(draw(rng.randint(14, 28)))
        return text[0].upper() + text[1:] + "."

    def title() -> str:
        picked = rng.choices(VOCAB, cum_weights=cum, k=rng.randint(4, 9))
        text = " ".join(
            w
            if i == 0 or rng.random() > 0.2
            else rng.choice(["for", "of", "with", "via"]) + " " + w
            for i, w in enumerate(picked)
        )
        return text[0].upper() + text[1:]

    names = [f"{f} {last}" for f in FIRST_NAMES for last in LAST_NAMES]
    sizes = [1, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6, 7, 8, 12, 25]
    return {
        "sentence": [sentence() for _ in range(N_SENTENCES)],
        "title": [title() for _ in range(N_TITLES)],
        "term": made_up_terms(),
        "authors": ["|".join(rng.sample(names, rng.choice(sizes))) for _ in range(N_AUTHOR_LISTS)],
    }


def made_up_terms() -> list[str]:
    """Method names like "Kavotrin", in Zipf rank order (the first is the most frequent)."""
    rng = random.Random(1)
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    reserved = set(VOCAB) | set(FUNCTION_WORDS)
    terms: dict[str, None] = {}
    while len(terms) < N_TERMS:
        word = "".join(rng.choices(syllables, k=rng.randint(3, 4))) + rng.choice(
            ["", "n", "x", "r"]
        )
        if word not in reserved:
            terms[word.capitalize()] = None
    return list(terms)


def announcement_days(n_papers: int, rng: random.Random) -> list[tuple[date, int]]:
    """Weekdays up to today, oldest first, with 1,500-3,000 papers each, `n_papers` in all."""
    day = date.today()
    days: list[tuple[date, int]] = []
    total = 0
    while total < n_papers:
        if day.weekday() < 5:
            count = min(rng.randint(1500, 3000), n_papers - total)
            days.append((day, count))
            total += count
        day -= timedelta(days=1)
    return days[::-1]


# --- SQL for the papers --------------------------------------------------------------------------


def h(salt: int) -> str:
    """A deterministic pseudo-random integer in [0, 2^31) for row `g`."""
    return f"(hashint8(g * 64 + {salt}) & 2147483647)"


def pick(salt: int, n: int) -> str:
    """Uniform in 1..n."""
    return f"(1 + mod({h(salt)}, {n}))"


def zipf(salt: int, n: int) -> str:
    """1..n with P(r) ~ 1/r: r = floor((n + 1) ** u) for a uniform u."""
    return f"LEAST({n}, floor(exp({h(salt)}::float8 * {math.log(n + 1) / 2**31!r}))::int)"


def weighted_index(salt: int, weights: list[int]) -> str:
    """0..len(weights)-1 with the given percentages (they sum to 100)."""
    cases, bound = [], 0
    for i, w in enumerate(weights[:-1]):
        bound += w
        cases.append(f"WHEN mod({h(salt)}, 100) < {bound} THEN {i}")
    return f"CASE {' '.join(cases)} ELSE {len(weights) - 1} END"


def text_array(values: Iterable[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


ARXIV = text_array(c for c, _ in ARXIV_CATEGORIES)
BIO = text_array(BIORXIV_CATEGORIES)
MED = text_array(MEDRXIV_CATEGORIES)
# k: 0 arXiv (80 %), 1 bioRxiv (10 %), 2 medRxiv (5 %), 3-7 the five journals (1 % each).
JOURNAL_SLUGS = ["nature", "science", "plos-medicine", "cell", "nejm"]
JOURNAL_DOIS = ["10.1038/", "10.1126/", "10.1371/", "10.1016/", "10.1056/"]
SENTENCES_PER_ABSTRACT = 7

PAPERS_SQL = f"""
INSERT INTO feeds_paper (
    id, key, arxiv_id, doi, version, announce_type, title, abstract, abstract_html, authors,
    affiliations, primary_category, categories, announced, published, journal_ref,
    journal_doi, links, content_hash, created_at, updated_at
)
SELECT
    x.g, x.key,
    CASE WHEN x.k = 0 THEN x.key ELSE '' END,
    CASE WHEN x.k = 0 THEN '' ELSE x.key END,
    CASE WHEN x.announce_type IN ('replace', 'replace-cross') THEN 2 + x.v_pick ELSE 1 END,
    x.announce_type,
    tt.body || ': ' || t.body,
    s1.body || ' We call our approach ' || ta.body || '. '
        || {" || ' ' || ".join(f"s{i}.body" for i in range(2, SENTENCES_PER_ABSTRACT + 1))},
    '',
    string_to_array(a.body, '|'),
    '{{}}',
    x.primary_category,
    x.categories,
    x.day,
    CASE WHEN x.k >= 3 THEN x.day END,
    '', '',
    CASE
        WHEN x.k = 0 THEN jsonb_build_object(
            'abs', 'https://arxiv.org/abs/' || x.key,
            'pdf', 'https://arxiv.org/pdf/' || x.key,
            'html', 'https://arxiv.org/html/' || x.key)
        WHEN x.k IN (1, 2) THEN jsonb_build_object(
            'abs', 'https://www.' || CASE x.k WHEN 1 THEN 'biorxiv' ELSE 'medrxiv' END
                || '.org/content/' || x.key || 'v1',
            'pdf', 'https://www.' || CASE x.k WHEN 1 THEN 'biorxiv' ELSE 'medrxiv' END
                || '.org/content/' || x.key || 'v1.full.pdf')
        ELSE jsonb_build_object('abs', 'https://doi.org/' || x.key)
    END,
    md5(x.g::text),
    (x.day + time '20:00') AT TIME ZONE 'UTC',
    (x.day + time '20:00') AT TIME ZONE 'UTC'
FROM (
    SELECT y.*,
        CASE y.k
            WHEN 0 THEN to_char(y.day, 'YYMM') || '.'
                || lpad((y.g - y.month_first_g + 1)::text, 5, '0')
            WHEN 1 THEN '10.1101/' || to_char(y.day, 'YYYY.MM.DD') || '.'
                || lpad(mod(y.g, 1000000)::text, 6, '0')
            WHEN 2 THEN '10.1101/' || to_char(y.day, 'YYYY.MM.DD') || '.'
                || lpad(mod(y.g, 1000000)::text, 6, '0')
            WHEN 3 THEN '10.1038/s41586-' || lpad(y.g::text, 7, '0')
            WHEN 4 THEN '10.1126/science.adl' || lpad(y.g::text, 7, '0')
            WHEN 5 THEN '10.1371/journal.pmed.' || lpad(y.g::text, 7, '0')
            WHEN 6 THEN '10.1016/j.cell.' || to_char(y.day, 'YYYY') || '.'
                || lpad(y.g::text, 7, '0')
            ELSE '10.1056/NEJMoa' || lpad(y.g::text, 7, '0')
        END AS key,
        CASE y.k
            WHEN 0 THEN ({ARXIV})[y.pidx + 1]
            WHEN 1 THEN ({BIO})[y.bio_idx + 1]
            WHEN 2 THEN ({MED})[y.med_idx + 1]
            ELSE ''
        END AS primary_category,
        CASE
            WHEN y.k = 0 AND y.cross_step >= 0 THEN ARRAY[
                ({ARXIV})[y.pidx + 1],
                ({ARXIV})[mod(y.pidx + 1 + y.cross_step, {len(ARXIV_CATEGORIES)}) + 1]]
            WHEN y.k = 0 THEN ARRAY[({ARXIV})[y.pidx + 1]]
            WHEN y.k = 1 THEN ARRAY[({BIO})[y.bio_idx + 1]]
            WHEN y.k = 2 THEN ARRAY[({MED})[y.med_idx + 1]]
            ELSE '{{}}'::text[]
        END AS categories,
        CASE
            WHEN y.k <> 0 OR y.at_pick < 62 THEN 'new'
            WHEN y.at_pick < 82 THEN 'cross'
            WHEN y.at_pick < 95 THEN 'replace'
            ELSE 'replace-cross'
        END AS announce_type
    FROM (
        SELECT g, d.day, d.month_first_g,
            CASE WHEN mod({h(1)}, 100) < 80 THEN 0
                 WHEN mod({h(1)}, 100) < 90 THEN 1
                 WHEN mod({h(1)}, 100) < 95 THEN 2
                 ELSE 3 + mod({h(2)}, 5) END AS k,
            {weighted_index(3, [ARXIV_WEIGHTS[c] for c, _ in ARXIV_CATEGORIES])} AS pidx,
            CASE WHEN mod({h(4)}, 100) < 40
                 THEN mod({h(5)}, {len(ARXIV_CATEGORIES) - 1}) ELSE -1 END AS cross_step,
            mod({h(6)}, {len(BIORXIV_CATEGORIES)}) AS bio_idx,
            mod({h(6)}, {len(MEDRXIV_CATEGORIES)}) AS med_idx,
            mod({h(7)}, 100) AS at_pick,
            mod({h(8)}, 2) AS v_pick,
            {pick(9, N_AUTHOR_LISTS)} AS a_id,
            {pick(10, N_TITLES)} AS t_id,
            {zipf(11, N_TERMS)} AS term1,
            {zipf(12, N_TERMS)} AS term2,
            {", ".join(f"{pick(12 + i, N_SENTENCES)} AS s{i}" for i in range(1, SENTENCES_PER_ABSTRACT + 1))}
        FROM bench_day d, generate_series(d.first_g, d.first_g + d.n - 1) AS g
        WHERE d.day_no BETWEEN %s AND %s
    ) y
) x
JOIN bench_title t ON t.id = x.t_id
JOIN bench_term tt ON tt.id = x.term1
JOIN bench_term ta ON ta.id = x.term2
JOIN bench_authors a ON a.id = x.a_id
{" ".join(f"JOIN bench_sentence s{i} ON s{i}.id = x.s{i}" for i in range(1, SENTENCES_PER_ABSTRACT + 1))}
"""

# One sighting by the paper's source (for arXiv: its primary category's feed), and a second
# "cross" sighting by the feed of an arXiv paper's second category.
SIGHTINGS_SQL = f"""
INSERT INTO feeds_papersighting
    (source_id, paper_id, announce_type, version, raw_hash, first_seen, last_seen)
SELECT s.id, p.id, v.announce_type, v.version, md5(p.key || v.slug),
       p.created_at + v.delay, p.created_at + v.delay
FROM feeds_paper p
CROSS JOIN LATERAL (VALUES
    (CASE
        WHEN p.arxiv_id <> '' THEN 'arxiv-' || replace(lower(p.primary_category), '.', '-')
        WHEN starts_with(p.doi, '10.1101/') THEN
            CASE WHEN strpos(p.links ->> 'abs', 'medrxiv.org') > 0 THEN 'medrxiv' ELSE 'biorxiv' END
        {" ".join(f"WHEN starts_with(p.doi, '{d}') THEN '{s}'" for d, s in zip(JOURNAL_DOIS, JOURNAL_SLUGS, strict=True))}
     END, p.announce_type, p.version, interval '0'),
    (CASE WHEN p.arxiv_id <> '' AND cardinality(p.categories) > 1
          THEN 'arxiv-' || replace(lower(p.categories[2]), '.', '-') END,
     'cross', 1, interval '1 minute')
) AS v(slug, announce_type, version, delay)
JOIN feeds_source s ON s.slug = v.slug
WHERE p.id BETWEEN %s AND %s
"""

# Both run with parameters: a literal % would be read as a placeholder.
assert "%" not in (PAPERS_SQL + SIGHTINGS_SQL).replace("%s", "")

# --- SQL for the radars ------------------------------------------------------------------------

# The measured user (bench-user-1) owns radars 1-3; radars 4.. belong to the other users.
HEAVY_RADAR, TYPICAL_RADAR, NARROW_RADAR = 1, 2, 3
MEASURED_RADARS = {
    HEAVY_RADAR: ("Large language models", 130),  # name, matches per average day
    TYPICAL_RADAR: ("Prompt injection", 20),
    NARROW_RADAR: ("Quantum error correction", 4),
}
PAPERS_PER_DAY = 2250  # the average of `announcement_days`


def u(salt: int) -> str:
    """Uniform in [0, 1) for row `g`."""
    return f"({h(salt)}::float8 / 2147483648.0)"


# One row per radar g: its owner, whether it is a public topic, the first announcement day it
# has matches for (its creation day, less the recent window scored when it was created) and its
# rate (matches on a day of average size). Parameters: measured user's id, users, days, radars,
# heavy radars.
#   * Owners: radars up to 70 % of the count go one each to users 4, 5, ...; the other 30 % to
#     the first fifth of the users (so ~2,000 users hold several, most others one, some none).
#   * Creation: radars accumulate as the user base grows, P(created by day t) = (t/D)^3, so a
#     radar lives a quarter of the period on average (the measured ones are set explicitly).
#   * Rate: 85 % log-uniform in 2-50 a day, 15 % narrow in 0.3-2; 1 radar in 500 is heavy
#     (60-160 a day since the first quarter of the period), like the measured radar 1 (130).
#   * Public topics: ~5 %, and radar 4 (the first heavy radar of another user).
RADARS_SQL = f"""
CREATE UNLOGGED TABLE bench_radar AS
SELECT g AS id, owner_id, public, first_day_no, rate, name, lower(name) AS phrase
FROM (
    SELECT g,
        CASE
            WHEN g <= 3 THEN %(uid)s
            WHEN g <= 0.7 * %(radars)s THEN %(uid)s + 1 + mod(g - 2, %(users)s - 1)
            ELSE %(uid)s + 1 + mod({h(20)}, GREATEST(1, %(users)s / 5))
        END AS owner_id,
        CASE WHEN g <= 3 THEN false WHEN g = 4 THEN true ELSE mod({h(21)}, 100) < 5 END
            AS public,
        CASE
            WHEN g = {HEAVY_RADAR} THEN 1
            WHEN g = {TYPICAL_RADAR} THEN GREATEST(1, %(days)s / 2)
            WHEN g = {NARROW_RADAR} THEN GREATEST(1, 3 * %(days)s / 4)
            WHEN g <= 3 + %(heavy)s THEN 1 + mod({h(22)}, GREATEST(1, %(days)s / 4))
            ELSE GREATEST(1, ceil(%(days)s * power({u(23)}, 1.0 / 3))::int - 5)
        END AS first_day_no,
        CASE
            {" ".join(f"WHEN g = {i} THEN {rate}" for i, (_, rate) in MEASURED_RADARS.items())}
            WHEN g <= 3 + %(heavy)s THEN 60 + mod({h(24)}, 100)
            WHEN mod({h(25)}, 100) < 85 THEN exp(ln(2) + {u(26)} * ln(25))
            ELSE exp(ln(0.3) + {u(26)} * ln(2 / 0.3))
        END::float8 AS rate,
        CASE
            {" ".join(f"WHEN g = {i} THEN '{name}'" for i, (name, _) in MEASURED_RADARS.items())}
            ELSE initcap(({text_array(VOCAB)})[{pick(27, len(VOCAB))}]) || ' '
                || ({text_array(VOCAB)})[{pick(28, len(VOCAB))}]
        END AS name
    FROM generate_series(1, %(radars)s) AS g
) x
"""

RADAR_ROWS_SQL = """
INSERT INTO radar_radar (
    id, name, description, include, exclude, categories, sources, authors, examples,
    threshold, public, active, feed_token, profile, profile_updated_at, created_at,
    updated_at, owner_id, understood, understood_error, understood_attempts
)
SELECT r.id, r.name, 'New papers on ' || r.phrase || ', and the methods around it.',
    '"' || r.phrase || '"', '{}', '{}', '{}', '{}', '{}', 40, r.public, true, NULL, NULL,
    NULL, c.at, c.at, r.owner_id, '{}', '', 0
FROM bench_radar r
JOIN bench_day d ON d.day_no = LEAST(r.first_day_no + 5, %(days)s)
CROSS JOIN LATERAL (SELECT (d.day + time '12:00') AT TIME ZONE 'UTC' AS at) c
"""

# Every owner follows their own radars (as `radar_create` does); every user follows up to
# three public topics, each with probability 30 %, the r-th topic (by id) with weight 1/r.
SUBSCRIPTIONS_SQL = """
INSERT INTO radar_subscription (frequency, language, created_at, radar_id, user_id)
SELECT 'daily', 'both', created_at, id, owner_id FROM radar_radar;

INSERT INTO radar_subscription (frequency, language, created_at, radar_id, user_id)
SELECT (ARRAY['daily', 'weekly', 'off'])[1 + mod(f.hv, 3)], 'both', now(), t.id, f.user_id
FROM (
    SELECT u.id AS user_id, hashint8(u.id * 8 + s) & 2147483647 AS hv,
        LEAST(n.n, floor(exp((hashint8(u.id * 8 + s + 4) & 2147483647)::float8
            * ln(n.n + 1) / 2147483648.0))::int) AS rank
    FROM auth_user u
    CROSS JOIN generate_series(1, 3) AS s
    CROSS JOIN (SELECT count(*) AS n FROM radar_radar WHERE public) n
) f
JOIN (
    SELECT id, owner_id, row_number() OVER (ORDER BY id) AS rank
    FROM radar_radar WHERE public
) t ON t.rank = f.rank
WHERE mod(f.hv >> 8, 100) < 30 AND t.owner_id <> f.user_id
ON CONFLICT DO NOTHING;

INSERT INTO radar_subscription (frequency, language, created_at, radar_id, user_id)
SELECT 'daily', 'both', now(), id, %(uid)s
FROM (SELECT id FROM radar_radar WHERE public AND owner_id <> %(uid)s ORDER BY id LIMIT 2) t
ON CONFLICT DO NOTHING;
"""

# A radar's matches on day d: about rate x (day's papers / average), varied 0.5-1.5x per day
# and rounded at random, taken evenly spread over the day's paper ids (a stride of 7919, a prime
# above any day's count, so they are distinct). Scores lean towards the threshold (40 points).
MATCHES_SQL = """
INSERT INTO radar_match (radar_id, paper_id, score, reasons, announced, created_at)
SELECT r.id,
    d.first_g + mod(x.hv::int8 + j * 7919, d.n),
    40 + 60 * power((y.hv & 65535)::float8 / 65536.0, 2),
    CASE
        WHEN y.kind < 5 THEN jsonb_build_array(
            jsonb_build_array('title', r.phrase, 40), jsonb_build_array('meaning', y.sim, 20))
        WHEN y.kind < 8 THEN jsonb_build_array(jsonb_build_array('abstract', r.phrase, 25),
            jsonb_build_array('words', r.phrase, 20))
        WHEN y.kind < 9 THEN jsonb_build_array(
            jsonb_build_array('author', 'Grace Hopper', 40), jsonb_build_array('meaning', y.sim, 10))
        ELSE jsonb_build_array(jsonb_build_array('meaning', y.sim, 42))
    END,
    d.day,
    (d.day + time '20:30') AT TIME ZONE 'UTC'
FROM bench_radar r
JOIN bench_day d ON d.day_no >= r.first_day_no
CROSS JOIN LATERAL (SELECT hashint8(r.id::int8 * 100000 + d.day_no) & 2147483647 AS hv) x
CROSS JOIN LATERAL generate_series(0, LEAST(d.n, floor(
    r.rate * d.n / %(per_day)s::float8 * (0.5 + mod(x.hv, 1000) / 1000.0)
    + mod(x.hv / 1000, 1000) / 1000.0)::int) - 1) AS j
CROSS JOIN LATERAL (
    SELECT v.hv, mod(v.hv >> 26, 10) AS kind,
        round((0.55 + 0.4 * ((v.hv >> 16) & 1023) / 1024.0)::numeric, 2) AS sim
    FROM (SELECT hashint8((r.id::int8 * 100000 + d.day_no) * 4096 + j) & 2147483647 AS hv) v
) y
WHERE r.id BETWEEN %(lo)s AND %(hi)s
"""

# The measured user has seen everything of their radars and topics but the last two days;
# the other owners have seen their radars' matches of the 20 days before those (older ones are
# left out to keep the table at a few million rows: what matters is that one user's rows are a
# small part of it, as in production). Every owner rated 1 % of their radars' matches (3 in 4
# up) and saved 1 in 300.
USER_ACTIVITY_SQL = """
INSERT INTO radar_seenpaper (seen_at, paper_id, user_id)
SELECT now(), m.paper_id, %(uid)s
FROM radar_match m
WHERE m.radar_id IN (SELECT radar_id FROM radar_subscription WHERE user_id = %(uid)s)
    AND m.announced < %(unseen_from)s
GROUP BY m.paper_id;

INSERT INTO radar_seenpaper (seen_at, paper_id, user_id)
SELECT now(), m.paper_id, r.owner_id
FROM radar_match m JOIN radar_radar r ON r.id = m.radar_id
WHERE m.announced >= %(seen_from)s AND m.announced < %(unseen_from)s
    AND r.owner_id <> %(uid)s
ON CONFLICT DO NOTHING;

INSERT INTO radar_feedback (value, created_at, paper_id, user_id, radar_id)
SELECT CASE WHEN mod(hashint8(m.id) & 2147483647, 4) = 0 THEN -1 ELSE 1 END, now(),
    m.paper_id, r.owner_id, m.radar_id
FROM radar_match m JOIN radar_radar r ON r.id = m.radar_id
WHERE mod(hashint8(m.id) & 2147483647, 100) = 0;

INSERT INTO radar_savedpaper (created_at, paper_id, user_id)
SELECT now(), m.paper_id, r.owner_id
FROM radar_match m JOIN radar_radar r ON r.id = m.radar_id
WHERE mod(hashint8(m.id + 1) & 2147483647, 300) = 0
ON CONFLICT DO NOTHING;
"""


# Summary cards, as a site with an LLM has them: a done card in both languages (TL;DR and the
# four sections, title and keywords, at the lengths the prompt asks for) for every paper of the
# last CARD_DAYS days, which is what Today, the radar feeds and "My radars" show.
CARD_DAYS = 30
ZH_SENTENCES = [
    "本文提出了一种新的方法，在多个公开基准上显著优于现有工作。",
    "作者系统分析了该问题的难点，并给出了可扩展的求解框架。",
    "实验表明，该模型在保持精度的同时将计算开销降低了一半以上。",
    "研究揭示了数据规模与泛化能力之间此前未被注意到的关系。",
    "该工作为后续在真实场景中的部署提供了理论依据和开源工具。",
    "通过理论推导与数值模拟，作者验证了所提出机制的有效性。",
    "结果显示，在低资源条件下该方法仍然保持稳健的表现。",
    "本文还讨论了方法的局限性以及未来可能的改进方向。",
]
ZH = "ARRAY[" + ", ".join(f"'{z}'" for z in ZH_SENTENCES) + "]"
CARDS_SQL = f"""
INSERT INTO digests_card (paper_id, text_hash, prompt_version, model, status, title_zh, en, zh,
    keywords, flags, attempts, llm_calls, last_error, prompt_tokens, completion_tokens,
    created_at, updated_at, generated_at)
SELECT p.id, encode(sha256(convert_to(p.title || chr(10) || p.abstract, 'UTF8')), 'hex'),
    'bench', 'bench-model', 'done',
    ({ZH})[1 + mod(p.id, 8)::int],
    jsonb_build_object(
        'tldr', left(p.abstract, 240),
        'motivation', split_part(p.abstract, '. ', 2) || '.',
        'method', split_part(p.abstract, '. ', 3) || '.',
        'result', split_part(p.abstract, '. ', 4) || '.',
        'conclusion', split_part(p.abstract, '. ', 5) || '.'),
    jsonb_build_object(
        'tldr', ({ZH})[1 + mod(p.id, 8)::int] || ({ZH})[1 + mod(p.id + 3, 8)::int],
        'motivation', ({ZH})[1 + mod(p.id + 1, 8)::int],
        'method', ({ZH})[1 + mod(p.id + 2, 8)::int] || ({ZH})[1 + mod(p.id + 5, 8)::int],
        'result', ({ZH})[1 + mod(p.id + 3, 8)::int],
        'conclusion', ({ZH})[1 + mod(p.id + 4, 8)::int]),
    (regexp_split_to_array(split_part(p.title, ':', 1), ' '))[1:5]::varchar(80)[],
    '{{}}', 1, 1, '', 900, 450, now(), now(), now()
FROM feeds_paper p
WHERE p.announced >= (SELECT max(announced) FROM feeds_paper WHERE announced <= current_date)
    - {CARD_DAYS}
"""


def generate_cards(started: float) -> None:
    """The summary cards of the last CARD_DAYS days (`CARDS_SQL`); a kept database of the
    version before cards gets them added by the same step."""
    execute("DELETE FROM digests_card")
    execute(CARDS_SQL)
    execute("VACUUM ANALYZE digests_card")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM digests_card")
        n = cursor.fetchone()[0]
    timed_step(f"{n:,} summary cards", started)


# --- The database ------------------------------------------------------------------------------


def database_marker() -> str | None:
    """The comment of the bench database, set once it was fully generated (None: no database)."""
    name = connection.settings_dict["TEST"]["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def timed_step(label: str, started: float) -> None:
    print(f"generate: {label} ({time.perf_counter() - started:.1f} s)", flush=True)


def in_thread(fn: Callable[[], None]) -> None:
    """Run `fn` on a worker thread's own connection, with bulk-load session settings."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
            cursor.execute("SET maintenance_work_mem = '1GB'")
        fn()
    finally:
        connection.close()


def execute(sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def drop_secondary_indexes(tables: list[str]) -> list[tuple[str, str]]:
    """Drop the tables' indexes that back no constraint; return their (name, definition)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = ANY(%s::regclass[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
            """,
            [tables],
        )
        indexes: list[tuple[str, str]] = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return indexes


def execute_script(sql: str, params: dict[str, Any]) -> None:
    """Statements separated by blank-line-ended semicolons, one by one (with parameters)."""
    for statement in sql.split(";\n\n"):
        if statement.strip():
            execute(statement, params)


def generate_radars(n_radars: int, n_users: int, n_days: int, started: float) -> None:
    """Radars, subscriptions and matches (`RADARS_SQL` ...); needs bench_day and the users."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM auth_user")
        uid: int = cursor.fetchone()[0]
        cursor.execute("SELECT day FROM bench_day WHERE day_no = GREATEST(1, %s - 1)", [n_days])
        unseen_from = cursor.fetchone()[0]
        cursor.execute("SELECT day FROM bench_day WHERE day_no = GREATEST(1, %s - 21)", [n_days])
        seen_from = cursor.fetchone()[0]
    heavy = max(1, n_radars // 500)
    params: dict[str, Any] = {
        "uid": uid,
        "users": n_users,
        "radars": n_radars,
        "days": n_days,
        "heavy": heavy,
        "per_day": PAPERS_PER_DAY,
        "unseen_from": unseen_from,
        "seen_from": seen_from,
    }
    execute(RADARS_SQL, params)
    execute(RADAR_ROWS_SQL, params)
    execute("SELECT setval(pg_get_serial_sequence('radar_radar', 'id'), %s)", [n_radars])
    execute_script(SUBSCRIPTIONS_SQL, params)
    timed_step(f"{n_radars:,} radars and their subscriptions", started)

    indexes = drop_secondary_indexes(["radar_match"])
    # The measured and heavy radars in one batch, the others in 16 (two connections at once).
    step = max(1, math.ceil((n_radars - 3 - heavy) / 16))
    batches = [(1, 3 + heavy)] + [
        (lo, min(lo + step - 1, n_radars)) for lo in range(4 + heavy, n_radars + 1, step)
    ]
    lock = threading.Lock()
    done = [0]

    def load_batch(batch: tuple[int, int]) -> None:
        in_thread(lambda: execute(MATCHES_SQL, {**params, "lo": batch[0], "hi": batch[1]}))
        with lock:
            done[0] += 1
            timed_step(f"matches: {done[0]}/{len(batches)} batches of radars", started)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(load_batch, batches))

    def build(sqls: list[str]) -> None:
        def work() -> None:
            for sql in sqls:
                execute(sql)

        in_thread(work)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(build, [[sql for _, sql in indexes[i::2]] for i in (0, 1)]))
    execute_script(USER_ACTIVITY_SQL, params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM radar_match")
        n_matches = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM radar_seenpaper")
        n_seen = cursor.fetchone()[0]
    timed_step(
        f"{n_matches:,} matches ({len(indexes)} indexes rebuilt), {n_seen:,} seen papers,"
        " feedback and saved papers",
        started,
    )


def generate(n_papers: int, n_users: int, n_radars: int, marker: str) -> None:
    """Fill the (freshly migrated) bench database; see the module docstring."""
    started = time.perf_counter()
    rng = random.Random(20241128)
    sources_seed()
    pools = text_pools(rng)
    days = announcement_days(n_papers, rng)
    with connection.cursor() as cursor:
        for table in ("sentence", "title", "term", "authors"):
            cursor.execute(f"CREATE UNLOGGED TABLE bench_{table} (id int PRIMARY KEY, body text)")
            values = pools[table]
            cursor.execute(
                f"INSERT INTO bench_{table} SELECT * FROM unnest(%s::int[], %s::text[])",
                [list(range(1, len(values) + 1)), values],
            )
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_day"
            " (day_no int PRIMARY KEY, day date, first_g int, n int, month_first_g int)"
        )
        rows: list[tuple[int, date, int, int, int]] = []
        first_g, month, month_first_g = 1, (0, 0), 1
        for day_no, (day, n) in enumerate(days, start=1):
            if (day.year, day.month) != month:
                month, month_first_g = (day.year, day.month), first_g
            rows.append((day_no, day, first_g, n, month_first_g))
            first_g += n
        cursor.execute(
            "INSERT INTO bench_day SELECT * FROM unnest(%s::int[], %s::date[], %s::int[],"
            " %s::int[], %s::int[])",
            [list(col) for col in zip(*rows, strict=True)],
        )
        # Secondary indexes are dropped for the load and rebuilt after it (far faster than
        # maintaining a GIN index row by row).
        indexes = drop_secondary_indexes(["feeds_paper", "feeds_papersighting"])
    timed_step(f"text pools and {len(days)} announcement days", started)

    # Batches of consecutive days (~50,000 papers), loaded by two connections at once.
    batches: list[tuple[int, int, int, int]] = []
    lo = 0
    while lo < len(rows):
        hi = lo
        while hi + 1 < len(rows) and rows[hi][2] + rows[hi][3] - rows[lo][2] < 50_000:
            hi += 1
        batches.append((rows[lo][0], rows[hi][0], rows[lo][2], rows[hi][2] + rows[hi][3] - 1))
        lo = hi + 1
    done = [0]
    lock = threading.Lock()

    def load_batch(batch: tuple[int, int, int, int]) -> None:
        day_lo, day_hi, g_lo, g_hi = batch

        def work() -> None:
            execute(PAPERS_SQL, [day_lo, day_hi])
            execute(SIGHTINGS_SQL, [g_lo, g_hi])

        in_thread(work)
        with lock:
            done[0] += g_hi - g_lo + 1
            timed_step(f"papers {done[0]:,}/{n_papers:,}", started)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(load_batch, batches))

    # The GIN index over the search vectors takes longest: it gets a connection to itself.
    search_gin = [sql for name, sql in indexes if name == "paper_search_gin"]
    others = [sql for name, sql in indexes if name != "paper_search_gin"]

    def build(sqls: list[str]) -> None:
        def work() -> None:
            for sql in sqls:
                execute(sql)

        in_thread(work)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(build, [search_gin, others]))
    timed_step(f"{len(indexes)} indexes rebuilt", started)

    password = make_password("bench-web-password")
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('feeds_paper', 'id'), %s)", [n_papers])
        cursor.execute(
            """
            INSERT INTO auth_user (password, last_login, is_superuser, username, first_name,
                last_name, email, is_staff, is_active, date_joined)
            SELECT %s, NULL, false, 'bench-user-' || i, '', '', 'bench-user-' || i
                || '@example.org', false, true, now() - i * interval '1 hour'
            FROM generate_series(1, %s) AS i
            """,
            [password, n_users],
        )
    timed_step(f"{n_users:,} users", started)
    generate_radars(n_radars, n_users, len(days), started)
    generate_cards(started)
    with connection.cursor() as cursor:
        for table in ("sentence", "title", "term", "authors", "day", "radar"):
            cursor.execute(f"DROP TABLE bench_{table}")

    with ThreadPoolExecutor(2) as pool:
        list(
            pool.map(
                lambda t: in_thread(lambda: execute(f"VACUUM ANALYZE {t}")),
                ["radar_match", "feeds_paper", "feeds_papersighting"],
            )
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        assert "'" not in marker
        name = connection.ops.quote_name(connection.settings_dict["NAME"])
        cursor.execute(f"COMMENT ON DATABASE {name} IS '{marker}'")
    timed_step("VACUUM ANALYZE done", started)


def database_url() -> str:
    """DATABASE_URL of the bench database (a socket directory is percent-encoded as the host)."""
    sd = connection.settings_dict
    auth = quote(sd["USER"] or "", safe="")
    if sd.get("PASSWORD"):
        auth += ":" + quote(sd["PASSWORD"], safe="")
    host, name = sd["HOST"] or "", quote(sd["NAME"], safe="")
    if host.startswith("/"):
        # django-environ's form for a socket: the directory, percent-encoded, as the path.
        url = f"postgres://{auth}@/{quote(host, safe='')}/{name}"
    else:
        port = f":{sd['PORT']}" if sd.get("PORT") else ""
        url = f"postgres://{auth}@{host}{port}/{name}"
    parsed = environ.Env.db_url_config(url)
    for key in ("NAME", "USER", "HOST"):
        assert (parsed[key] or "") == (sd[key] or ""), (key, parsed[key], sd[key])
    return url


# --- What is requested ---------------------------------------------------------------------------


@dataclass
class Page:
    """One URL group: requests cycle through `items` (path, text the body must contain, tag)."""

    name: str
    items: list[tuple[str, bytes, str]]
    queries: dict[str, int] = field(default_factory=dict)
    sql: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    # Requested by the measured user (signed in) rather than anonymously.
    signed_in: bool = False
    # Requested with the measured user's API token (`Authorization: Bearer`).
    bearer: bool = False
    # What the page shows, for the report (e.g. the radar's match count).
    about: str = ""
    # Per tag: a warm request through Django's test client in this process, and its SQL (ms).
    in_process: dict[str, tuple[float, float]] = field(default_factory=dict)
    # Every request asks something not asked before (no cached ranking: `radar.search`).
    first_asks: bool = False


# Distinct asks of each search term for "search-first-ask": more than the run sends.
FIRST_ASKS = 1000


# The common words of the questions "search-question" asks.
QUESTION_WORDS = [("diffusion", "model"), ("graph", "transformer"), ("neural", "network")]


def search_terms() -> list[str]:
    """Common vocabulary words (one, two, a phrase), and made-up terms of Zipf rank 10 to 30,000."""
    terms = made_up_terms()
    common = ["model", "diffusion", "graph transformer", '"neural network"']
    assert all(w.strip('"') in VOCAB for c in common for w in c.split())
    return [*common, *(terms[rank - 1] for rank in (10, 300, 30_000))]


def pages(n_paper_keys: int, rng: random.Random) -> list[Page]:
    from feeds import front

    # The front page's first card: the first paper of its first section.
    at = front.version()
    first_id = front.overview(front.rows_latest(front.latest_days(at), at)).sections[0].rows[0].id
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM feeds_paper")
        max_id = cursor.fetchone()[0]
        ids = rng.sample(range(1, max_id + 1), min(n_paper_keys, max_id))
        cursor.execute("SELECT key, title FROM feeds_paper WHERE id = ANY(%s)", [ids])
        papers = cursor.fetchall()
        terms = search_terms()
        hits = {}
        for term in terms:
            cursor.execute(
                "SELECT count(*) FROM feeds_paper"
                " WHERE search_vector @@ websearch_to_tsquery('english', %s)",
                [term],
            )
            hits[term] = cursor.fetchone()[0]
    rng.shuffle(papers)
    today_expect = f'id="paper-{first_id}"'.encode()
    return [
        *base_pages(today_expect, papers, terms, hits),
        *radar_pages(),
    ]


def base_pages(
    today_expect: bytes, papers: list[tuple[str, str]], terms: list[str], hits: dict[str, int]
) -> list[Page]:
    return [
        Page("healthz", [("/healthz", b"ok", "/healthz")]),
        Page("today", [("/", today_expect, "/")]),
        Page(
            "paper",
            [
                (reverse("feeds:paper", args=[key]), str(escape(title)).encode(), "/papers/<key>/")
                for key, title in papers
            ],
        ),
        Page(
            "search",
            [("/search/?" + urlencode({"q": t}), b"<mark>", t) for t in terms if hits[t]],
            hits=hits,
        ),
        # The same terms, each request with an alternative no paper has ("model OR zq17"):
        # the same papers, but a search never asked before, so nothing comes from the cache.
        Page(
            "search-first-ask",
            [
                ("/search/?" + urlencode({"q": f"{t} OR zq{n}"}), b"<mark>", t)
                for n in range(FIRST_ASKS)
                for t in terms
                if hits[t]
            ],
            hits=hits,
            first_asks=True,
        ),
        # A question in plain words no paper holds all of (a made-up word in each, so each is
        # asked for the first time): the papers holding most of its words join the ranking
        # (`feeds.search.papers_with_most`, each word's newest candidates only).
        Page(
            "search-question",
            [
                ("/search/?" + urlencode({"q": f"how can {a} help {b} in zq{n}?"}), b"<mark>", a)
                for n in range(FIRST_ASKS)
                for a, b in QUESTION_WORDS
            ],
            first_asks=True,
        ),
        # The API's paper list: the latest day's first page, as a client polling it gets it.
        Page("api-papers", [("/api/v1/papers", b'"papers": [{', "/api/v1/papers")], bearer=True),
    ]


MEASURED_USER = "bench-user-1"
FEED_ROWS_PER_PAGE = 25  # radar.views.FEED_PAGE_SIZE


def measured_user_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM auth_user WHERE username = %s", [MEASURED_USER])
        user_id: int = cursor.fetchone()[0]
    return user_id


def radar_pages() -> list[Page]:
    """The radar pages of the measured user, each expected to show its first paper."""
    uid = measured_user_id()
    feed_order = "ORDER BY announced DESC, score DESC, id"
    with connection.cursor() as cursor:

        def one(sql: str, params: list[Any]) -> Any:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

        def feed(radar_id: int, page: int, name: str, label: str) -> Page:
            first = one(
                f"SELECT paper_id FROM radar_match WHERE radar_id = %s {feed_order}"
                " OFFSET %s LIMIT 1",
                [radar_id, (page - 1) * FEED_ROWS_PER_PAGE],
            )
            n = one("SELECT count(*) FROM radar_match WHERE radar_id = %s", [radar_id])
            path = reverse("radar:radar_feed", args=[radar_id]) + (
                f"?page={page}" if page > 1 else ""
            )
            expect = f'id="paper-{first}"'.encode()
            return Page(
                name, [(path, expect, path)], signed_in=True, about=f"{label}: {n:,} matches"
            )

        # "My radars" shows every source family's latest day (the product's own choice).
        from feeds import front

        days = sorted(set(front.latest_days(front.version()).values()))
        day = ", ".join(d.isoformat() for d in days)
        mine = (
            "(radar_id IN (SELECT id FROM radar_radar WHERE owner_id = %s)"
            " OR radar_id IN (SELECT radar_id FROM radar_subscription WHERE user_id = %s))"
        )
        top = one(
            f"SELECT paper_id FROM radar_match WHERE announced = ANY(%s) AND {mine}"
            " ORDER BY score DESC, id LIMIT 1",
            [days, uid, uid],
        )
        day_papers = one(
            f"SELECT count(DISTINCT paper_id) FROM radar_match WHERE announced = ANY(%s)"
            f" AND {mine}",
            [days, uid, uid],
        )
        followed = one(
            "SELECT count(*) FROM radar_subscription s JOIN radar_radar r ON r.id = s.radar_id"
            " WHERE s.user_id = %s AND r.owner_id <> %s",
            [uid, uid],
        )
        own = one("SELECT count(*) FROM radar_radar WHERE owner_id = %s", [uid])
        cursor.execute(
            "SELECT r.id, count(*) FROM radar_radar r JOIN radar_subscription s"
            " ON s.radar_id = r.id WHERE r.public GROUP BY r.id, r.name"
            " ORDER BY count(*) DESC, r.name, r.id LIMIT 1"
        )
        top_topic, top_followers = cursor.fetchone()
        n_topics = one("SELECT count(*) FROM radar_radar WHERE public", [])
        n_matches = one(
            "SELECT count(*) FROM radar_match WHERE radar_id IN"
            " (SELECT id FROM radar_radar WHERE owner_id = %s)",
            [uid],
        )
        feeds = [
            feed(HEAVY_RADAR, 1, "radar-heavy", "heavy radar"),
            feed(HEAVY_RADAR, 20, "radar-heavy-page-20", "heavy radar, page 20"),
            feed(TYPICAL_RADAR, 1, "radar-typical", "typical radar"),
        ]
    radars_path = reverse("radar:radars")
    topics_path = reverse("radar:topics")
    return [
        *feeds,
        Page(
            "my-radars",
            [("/?view=radars", f'id="paper-{top}"'.encode(), "/?view=radars")],
            signed_in=True,
            about=f"{day}: {day_papers} papers from {own} radars and {followed} followed topics",
        ),
        Page(
            "radars",
            [(radars_path, f'id="radar-{HEAVY_RADAR}"'.encode(), radars_path)],
            signed_in=True,
            about=f"{own} radars with {n_matches:,} matches, {followed} followed topics",
        ),
        Page(
            "topics",
            [(topics_path, f'id="topic-{top_topic}"'.encode(), topics_path)],
            signed_in=True,
            about=f"{n_topics:,} public topics, the first with {top_followers:,} followers",
        ),
    ]


def count_queries(page: Page) -> None:
    """Django's test client on the same database: queries per request, and their SQL."""
    client = Client()
    if page.signed_in:
        user = get_user_model().objects.get(username=MEASURED_USER)
        profile_for(user)  # created on a first visit: not part of the page's queries
        client.force_login(user)
    extra: dict[str, Any] = (
        {"headers": {"Authorization": f"Bearer {api_secret()}"}} if page.bearer else {}
    )
    seen: set[str] = set()
    for path, expect, tag in page.items:
        if tag in seen:
            continue
        seen.add(tag)
        # A page of first asks is timed on asks of the same term the load does not send.
        warm = [p for p, _, t in reversed(page.items) if t == tag][:3] if page.first_asks else []
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path, **extra)
        if response.status_code != 200 or expect not in response.content:
            raise SystemExit(
                f"test client: {path} answered {response.status_code} without {expect!r}"
            )
        page.queries[tag] = len(ctx.captured_queries)
        page.sql[tag] = [(q["sql"], float(q["time"])) for q in ctx.captured_queries]
        # Where the time goes, warm: the whole request in this process against its SQL.
        best = (math.inf, 0.0)
        for n in range(3):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                client.get(warm[n] if warm else path, **extra)
                took = time.perf_counter() - started
            best = min(best, (took, sum(float(q["time"]) for q in ctx.captured_queries)))
        page.in_process[tag] = (round(best[0] * 1000, 1), round(best[1] * 1000, 1))


# --- gunicorn and the load -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(tmp: Path, port: int) -> dict[str, str]:
    """Production settings (DEBUG off) with STATIC_ROOT moved to a temp dir for collectstatic."""
    (tmp / "bench_web_settings.py").write_text(
        '"""bench/web.py: the production settings, with static files collected under a temp dir."""\n'
        "from academichub.settings import *  # noqa: F403\n\n"
        f"STATIC_ROOT = {str(tmp / 'static')!r}\n"
    )
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench_web_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp), str(ROOT)]),
        "DATABASE_URL": database_url(),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "SECURE_SSL_REDIRECT": "false",
        # The load clients share one API token: its per-minute limit would answer 429.
        "API_RATE_LIMIT_PER_MINUTE": "100000000",
    }


_API_SECRET: list[str] = []


def api_secret() -> str:
    """A personal API token of the measured user (made once per run; the last run's removed)."""
    if not _API_SECRET:
        from api.models import ApiToken
        from api.tokens import token_create

        user = get_user_model().objects.get(username=MEASURED_USER)
        ApiToken.objects.filter(user=user, name="bench/web.py").delete()
        _API_SECRET.append(token_create(user=user, name="bench/web.py")[1])
    return _API_SECRET[0]


def session_cookie(secret_key: str) -> str:
    """A signed-in session of the measured user, valid for a server with `secret_key`.

    The session row is what `django.contrib.auth.login` stores (user, backend, and the hash
    of the password under the server's SECRET_KEY), and the Cookie header also carries the
    language cookie the profile middleware would otherwise set on every response.
    """
    user = get_user_model().objects.get(username=MEASURED_USER)
    profile = profile_for(user)
    with override_settings(SECRET_KEY=secret_key):
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
    return (
        f"{settings.SESSION_COOKIE_NAME}={store.session_key};"
        f" {settings.LANGUAGE_COOKIE_NAME}={profile.language}"
    )


def start_gunicorn(
    env: dict[str, str], port: int, workers: int, log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "academichub.wsgi",
                "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            ],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return server
        except OSError:
            pass
        time.sleep(0.2)
    stop(server)
    raise SystemExit(f"gunicorn did not answer /healthz:\n{log.read_text()[-3000:]}")


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@dataclass
class Run:
    samples: list[tuple[str, float]]
    elapsed: float
    errors: list[str]


def load(
    port: int,
    items: list[tuple[str, bytes, str]],
    clients: int,
    seconds: float,
    headers: dict[str, str] | None = None,
) -> Run:
    """`clients` threads, each with its own connection, cycling through `items` for `seconds`."""
    deadline = time.perf_counter() + seconds
    samples: list[list[tuple[str, float]]] = [[] for _ in range(clients)]
    errors: list[str] = []

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        j = i * len(items) // clients
        try:
            while time.perf_counter() < deadline:
                path, expect, tag = items[j % len(items)]
                j += 1
                start = time.perf_counter()
                try:
                    conn.request("GET", path, headers=headers or {})
                    response = conn.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    errors.append(f"{path}: {exc!r}")
                    continue
                elapsed = time.perf_counter() - start
                if response.status != 200 or expect not in body:
                    errors.append(f"{path}: HTTP {response.status} without {expect!r}")
                samples[i].append((tag, elapsed))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Run([s for per in samples for s in per], time.perf_counter() - started, errors)


def load_average() -> str:
    """Other work on the machine shows here: the figures are only comparable as ratios."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def percentiles(values: list[float]) -> tuple[float, float]:
    """Median and 95th percentile, in ms."""
    ms = [v * 1000 for v in values]
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[18] if len(ms) > 1 else ms[0]
    return round(statistics.median(ms), 2), round(p95, 2)


# --- EXPLAIN ---------------------------------------------------------------------------------------


def explain(sql: str) -> tuple[float, list[str], list[str], str]:
    """Execution time, indexes used, tables read sequentially, and the plan text."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    ms = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))  # type: ignore[union-attr]
    indexes = sorted(
        set(re.findall(r"Index (?:Only )?Scan(?: Backward)? (?:using|on) (\S+)", plan))
    )
    seq = sorted(set(re.findall(r"Seq Scan on (\S+)", plan)))
    return ms, indexes, seq, plan


def shorten(sql: str) -> str:
    """The start and the end (WHERE ... LIMIT) of a query: the SELECT lists are long and alike."""
    flat = " ".join(sql.split())
    return flat if len(flat) <= 240 else flat[:80] + " … " + flat[-160:]


def explain_page(page: Page, full_plan: bool) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) every query of the page once (warm cache).

    Prints a summary of each query over 0.5 ms (and a count of the others), and the whole
    plan of the page's slowest query if `full_plan`.
    """
    slowest: tuple[float, str, str] = (-1.0, "", "")
    quick = 0
    writes: list[str] = []
    for tag, queries in page.sql.items():
        for number, (sql, took) in enumerate(queries, start=1):
            if sql.upper() in ("BEGIN", "COMMIT") or sql.upper().startswith(
                ("SAVEPOINT", "RELEASE SAVEPOINT")
            ):
                continue
            if not sql.lstrip(" \n(").upper().startswith(("SELECT", "WITH")):
                # Not run again (EXPLAIN ANALYZE executes): e.g. the feed marking papers seen.
                writes.append(f"{shorten(sql)} ({float(took) * 1000:.2f} ms in the test client)")
                continue
            ms, indexes, seq, plan = explain(sql)
            if ms > slowest[0]:
                slowest = (ms, f"{tag} query {number}", plan)
            if ms < 0.5:
                quick += 1
                continue
            summary = {
                "explain": page.name,
                "request": tag,
                "query": f"{number}/{len(queries)}",
                "execution_ms": ms,
                "indexes": indexes,
                "seq_scans": seq,
                "sql": shorten(sql),
            }
            print(json.dumps(summary), flush=True)
    print(f"explain {page.name}: {quick} other queries under 0.5 ms each", flush=True)
    for write in writes:
        print(f"explain {page.name}: not explained, a write: {write}", flush=True)
    if full_plan and slowest[2]:
        print(f"plan of the slowest {page.name} query ({slowest[1]}, {slowest[0]} ms):")
        print("\n".join("  | " + line for line in slowest[2].splitlines()), flush=True)


# --- Main ------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--papers", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--radars", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--regenerate", action="store_true", help="regenerate a kept database")
    parser.add_argument(
        "--clients", type=int, default=0, help="concurrent clients (default: one per worker)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per page")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per page")
    args = parser.parse_args()
    args.clients = args.clients or args.workers
    return args


def report(page: Page, run: Run, baseline: float, label: str) -> float:
    """Print the page's JSON line; return its median (ms)."""
    median, p95 = percentiles([s for _, s in run.samples])
    queries = sorted(set(page.queries.values()))
    line: dict[str, Any] = {
        "url": label,
        "path": "/search/?q=<term>" if page.name.startswith("search") else page.items[0][2],
        **({"shows": page.about} if page.about else {}),
        **({"signed_in": True} if page.signed_in else {}),
        "requests": len(run.samples),
        "rps": round(len(run.samples) / run.elapsed, 1),
        "median_ms": median,
        "p95_ms": p95,
        "ratio_to_baseline_median": round(median / (baseline or median), 2),
        "queries": queries[0] if len(queries) == 1 else page.queries,
        "test_client_ms": {
            "request": statistics.median(t for t, _ in page.in_process.values()),
            "sql": statistics.median(q for _, q in page.in_process.values()),
        },
    }
    if page.name in TARGETS:
        line["target_median_ms"] = TARGET_P50_MS
        line["target_p95_ms"] = TARGET_P95_MS
        # Wrong answers (an error page is quick) never meet the target.
        line["meets_target"] = median <= TARGET_P50_MS and p95 <= TARGET_P95_MS and not run.errors
    if run.errors:
        line["bad_responses"] = len(run.errors)
    if page.name.startswith("search"):
        terms = line["terms"] = {}
        for tag in page.queries:
            times = [s for t, s in run.samples if t == tag]
            m, p = percentiles(times)
            terms[tag] = {
                "papers_matching": page.hits.get(tag),
                "requests": len(times),
                "median_ms": m,
                "p95_ms": p,
                "ratio_to_baseline_median": round(m / baseline, 2),
            }
    print(json.dumps(line), flush=True)
    return median


def measure(args: argparse.Namespace, tmp: Path) -> bool:
    """Serve, load and report; False if any response was wrong."""
    groups = pages(5000, random.Random(7))
    search = next(page for page in groups if page.name == "search")
    print("search terms (papers matching): " + json.dumps(search.hits), flush=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM radar_radar), (SELECT count(*) FROM radar_radar"
            " WHERE public), (SELECT count(*) FROM radar_subscription), (SELECT count(*)"
            " FROM radar_match), (SELECT count(DISTINCT owner_id) FROM radar_radar),"
            " (SELECT count(*) FROM (SELECT 1 FROM radar_radar GROUP BY owner_id"
            " HAVING count(*) > 1) t), (SELECT max(n) FROM (SELECT count(*) AS n FROM"
            " radar_match GROUP BY radar_id) t), (SELECT percentile_disc(0.5) WITHIN GROUP"
            " (ORDER BY n) FROM (SELECT count(*) AS n FROM radar_match GROUP BY radar_id) t)"
        )
        radars, public, subs, matches, owners, several, largest, median = cursor.fetchone()
    print(
        f"radars: {radars:,} ({public:,} public topics) of {owners:,} users ({several:,} with"
        f" several), {subs:,} subscriptions, {matches:,} matches (median {median:,} per radar,"
        f" largest {largest:,})",
        flush=True,
    )
    for page in groups:
        count_queries(page)
    connection.close()

    port = free_port()
    env = server_env(tmp, port)
    signed_in = {"Cookie": session_cookie(env["SECRET_KEY"])}
    bearer = {"Authorization": f"Bearer {api_secret()}"}
    connection.close()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    print(
        f"server: gunicorn academichub.wsgi, {args.workers} sync workers on 127.0.0.1:{port};"
        " production settings (DEBUG=false; manifest static files collected into a temp"
        f" STATIC_ROOT in {time.perf_counter() - started:.1f} s); CONN_MAX_AGE="
        f"{env.get('CONN_MAX_AGE', '60 (default)')}. Load: {args.clients} clients x"
        f" {args.duration:g} s per page after {args.warmup:g} s of warm-up; sync workers close"
        " every connection, so each request includes a loopback reconnect. Load average"
        f" before (1, 5, 15 min): {load_average()} on {os.cpu_count()} CPUs",
        flush=True,
    )
    server = start_gunicorn(env, port, args.workers, tmp / "gunicorn.log")
    ok = True
    medians: dict[str, float] = {}
    p95s: dict[str, float] = {}
    baseline = 0.0
    try:
        # /healthz first (the baseline) and again last, to show any drift during the run.
        for i, page in enumerate([*groups, groups[0]]):
            headers = signed_in if page.signed_in else bearer if page.bearer else None
            # First asks: the warm-up sends every other ask, the run the others.
            warmup, items = (
                (page.items[::2], page.items[1::2]) if page.first_asks else (page.items, page.items)
            )
            load(port, warmup, args.clients, args.warmup, headers)
            run = load(port, items, args.clients, args.duration, headers)
            if run.errors:
                ok = False
                print(f"{page.name}: {len(run.errors)} bad responses, e.g. {run.errors[:3]}")
            label = page.name + (" (again, after the pages)" if i == len(groups) else "")
            median = report(page, run, baseline, label)
            baseline = baseline or median
            medians.setdefault(page.name, math.inf if run.errors else median)
            p95s.setdefault(page.name, percentiles([s for _, s in run.samples])[1])
    finally:
        stop(server)

    def met(name: str) -> bool:
        return medians[name] <= TARGET_P50_MS and p95s[name] <= TARGET_P95_MS

    for page in groups[1:]:
        missed = page.name in TARGETS and not met(page.name)
        if not page.first_asks:  # (its plans are the search's)
            explain_page(page, full_plan=missed or page.name in ("today", "search"))
    verdicts = [
        f"{name} p50 {medians[name]:.1f} ms ({medians[name] / baseline:.1f}x /healthz),"
        f" p95 {p95s[name]:.1f} ms: {'ok' if met(name) else 'MISSED'}"
        if medians[name] < math.inf
        else f"{name}: bad responses"
        for name in TARGETS
    ]
    print(
        f"targets p50 <= {TARGET_P50_MS:g} ms and p95 <= {TARGET_P95_MS:g} ms at {args.clients}"
        f" clients on {args.workers} workers (baseline /healthz {baseline:.1f} ms): "
        + "; ".join(verdicts),
        flush=True,
    )
    print(f"load average at the end (1, 5, 15 min): {load_average()}", flush=True)
    return ok


def main() -> int:
    args = parse_args()
    marker = (
        f"academichub bench/web.py v{GENERATOR_VERSION} papers={args.papers} users={args.users}"
        f" radars={args.radars}"
    )
    found = database_marker()
    cardless = marker.replace(f" v{GENERATOR_VERSION} ", f" v{CARDLESS_VERSION} ")
    reuse = not args.regenerate and found in (marker, cardless)
    if not reuse:
        # Dropped here rather than by setup_databases, which reports it as an error first.
        with connection.cursor() as cursor:
            name = connection.ops.quote_name(connection.settings_dict["TEST"]["NAME"])
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
    old_config = setup_databases(
        verbosity=0, interactive=False, keepdb=reuse, serialized_aliases=set()
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    try:
        name = connection.settings_dict["NAME"]
        if reuse:
            print(f"database: reusing {name} ({found})", flush=True)
            if found == cardless:
                generate_cards(time.perf_counter())
                with connection.cursor() as cursor:
                    quoted = connection.ops.quote_name(name)
                    cursor.execute(f"COMMENT ON DATABASE {quoted} IS '{marker}'")
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM feeds_paper")
                if cursor.fetchone()[0] != args.papers:
                    raise SystemExit(f"{name} does not hold {args.papers:,} papers: --regenerate")
        else:
            print(
                f"database: generating {name} ({args.papers:,} papers, {args.users:,} users,"
                f" {args.radars:,} radars)",
                flush=True,
            )
            generate(args.papers, args.users, args.radars, marker)
        return 0 if measure(args, tmp) else 1
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0, keepdb=args.keep)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
