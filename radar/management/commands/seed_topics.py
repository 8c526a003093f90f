"""`manage.py seed_topics`: a starter set of public topics owned by a staff account."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Profile
from accounts.services import profile_for, profile_update
from radar.models import Radar
from radar.scoring import DEFAULT_THRESHOLD
from radar.services import radar_clean, radar_create, radar_update, subscription_set

# The account that owns the starter topics; it cannot sign in (unusable password).
TOPICS_ACCOUNT = "topics@academichub.local"

# Each topic: a plain-language description (what the semantic side matches against), an
# include query of phrases specific to the field, and categories only where a word of the
# field means something else elsewhere ("diffusion" in physics, "entanglement" in
# holography, "imitation learning" outside robots): categories are hard filters, so they
# would also drop bioRxiv, medRxiv and journal papers, which carry none or others.
TOPICS: list[dict[str, Any]] = [
    {
        "name": "LLM agents and safety",
        "description": (
            "Large language model agents that plan, use tools and act on their own, and how "
            "to keep language models safe: jailbreaks, prompt injection, red teaming, "
            "alignment, and evaluations of harmful or deceptive behaviour."
        ),
        "include": (
            '"LLM agent" OR "language model agent" OR agentic OR "prompt injection" OR '
            'jailbreak OR "red teaming" OR "AI safety" OR "AI alignment"'
        ),
    },
    {
        "name": "Diffusion models",
        "description": (
            "Diffusion and score-based generative models and flow matching: image, video, "
            "audio and 3D generation, guidance and editing, fast sampling, and the theory "
            "behind them."
        ),
        "include": (
            '"diffusion model" OR "denoising diffusion" OR "latent diffusion" OR '
            '"score based generative" OR "flow matching" OR "stable diffusion"'
        ),
        "categories": [
            "cs.CV",
            "cs.LG",
            "cs.AI",
            "cs.GR",
            "cs.SD",
            "cs.MM",
            "stat.ML",
            "eess.IV",
            "eess.AS",
        ],
    },
    {
        "name": "Single-cell omics",
        "description": (
            "Single-cell and spatial omics: single-cell RNA sequencing, chromatin "
            "accessibility and multi-omics, cell atlases, cell type annotation, trajectory "
            "inference, and the computational methods behind them."
        ),
        "include": (
            '"single cell" OR scRNA OR "spatial transcriptomics" OR "spatial omics" OR '
            '"cell atlas" OR "single nucleus"'
        ),
    },
    {
        "name": "Medical imaging AI",
        "description": (
            "Machine learning on medical images: radiology, pathology and ophthalmology; "
            "segmentation, detection and diagnosis from CT, MRI, X-ray, ultrasound and "
            "whole-slide images; medical foundation models and their clinical validation."
        ),
        "include": (
            '"medical image" OR "medical imaging" OR radiology OR radiograph OR '
            'histopathology OR "whole slide" OR "computational pathology"'
        ),
    },
    {
        "name": "Quantum information",
        "description": (
            "Quantum information science: quantum computing and quantum algorithms, quantum "
            "error correction and fault tolerance, entanglement, quantum communication and "
            "cryptography, and experiments with qubits."
        ),
        "include": (
            '"quantum computing" OR "quantum computer" OR qubit OR "quantum error correction" '
            'OR "quantum algorithm" OR "quantum circuit" OR "quantum key distribution"'
        ),
        "categories": ["quant-ph"],
    },
    {
        "name": "Causal inference",
        "description": (
            "Causal inference from data: treatment effects, causal discovery, instrumental "
            "variables, difference-in-differences, counterfactual reasoning, and causality "
            "in machine learning."
        ),
        "include": (
            '"causal inference" OR "causal discovery" OR "treatment effect" OR '
            '"instrumental variable" OR "causal effect" OR "difference in differences" OR '
            '"structural causal model"'
        ),
    },
    {
        "name": "Robot learning",
        "description": (
            "Learning for robots: reinforcement and imitation learning for manipulation and "
            "locomotion, sim-to-real transfer, vision-language-action models, and robot "
            "foundation models."
        ),
        "include": (
            '"robot learning" OR "imitation learning" OR "sim to real" OR '
            '"vision language action" OR "reinforcement learning" OR "dexterous manipulation"'
        ),
        "categories": ["cs.RO"],
    },
    {
        "name": "Machine learning for weather and climate",
        "description": (
            "Machine learning for weather and climate: data-driven weather forecasting, "
            "climate model emulation and downscaling, extreme events, and Earth observation "
            "from satellites."
        ),
        "include": (
            '"weather forecasting" OR "weather prediction" OR "climate model" OR downscaling '
            'OR "extreme weather" OR ("machine learning" AND climate) OR '
            '("deep learning" AND (weather OR climate))'
        ),
    },
    {
        "name": "Protein structure and design",
        "description": (
            "Protein structure prediction and design: AlphaFold-style structure models, "
            "protein language models, generative design of binders and enzymes, and "
            "molecular docking."
        ),
        "include": (
            '"protein structure" OR "protein design" OR "protein language model" OR '
            'AlphaFold OR "protein folding" OR "binder design"'
        ),
    },
    {
        "name": "Gravitational waves",
        "description": (
            "Gravitational-wave astronomy: detections by LIGO, Virgo and KAGRA, compact "
            "binary mergers, waveform models, pulsar timing arrays, and tests of general "
            "relativity with gravitational waves."
        ),
        "include": (
            '"gravitational wave" OR LIGO OR "pulsar timing" OR "binary black hole" OR '
            '"neutron star merger"'
        ),
    },
]


def topics_account() -> User:
    """The staff account owning the starter topics: no password, no briefing emails."""
    user, _created = User.objects.get_or_create(
        username=TOPICS_ACCOUNT, defaults={"email": TOPICS_ACCOUNT, "is_staff": True}
    )
    if user.has_usable_password() or not user.is_staff or user.email != TOPICS_ACCOUNT:
        user.set_unusable_password()
        user.is_staff = True
        user.email = TOPICS_ACCOUNT
        user.save(update_fields=["password", "is_staff", "email"])
    profile = profile_for(user)
    if profile.digest_frequency != Profile.Frequency.OFF:
        profile_update(profile=profile, digest_frequency=Profile.Frequency.OFF)
    return user


def topics_seed() -> dict[str, Any]:
    """Create the starter topics, or put back what was changed in them; returns counts."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    with transaction.atomic():
        owner = topics_account()
        for definition in TOPICS:
            # Fields a topic leaves out are reset too, so the seed is the whole definition.
            fields = radar_clean(
                {
                    "exclude": [],
                    "categories": [],
                    "sources": [],
                    "authors": [],
                    "examples": [],
                    "threshold": DEFAULT_THRESHOLD,
                    **definition,
                    "public": True,
                }
            )
            topic = Radar.objects.filter(owner_id=owner.pk, name=fields["name"]).first()
            if topic is None:
                topic = radar_create(owner=owner, fields=fields)
                counts["created"] += 1
            elif any(getattr(topic, name) != value for name, value in fields.items()):
                radar_update(topic, fields=fields)
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
            # The account only lends its name: it follows nothing, so subscriber counts
            # are real people and no briefing is built for it.
            subscription_set(user=owner, radar=topic, subscribed=False)
    return {"account": TOPICS_ACCOUNT, "topics": len(TOPICS), **counts}


class Command(BaseCommand):
    help = "Create (or restore) the starter public topics, owned by a staff account."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(topics_seed()))
