"""The names readers see for stored codes: arXiv categories, preprint subjects, disciplines
and the starter topics (their names and descriptions), in the reader's language.

Stored values (filters, radar categories, `Source.discipline`) stay the English codes and
strings; only the shown text is translated here. Pure: no database.
"""

from __future__ import annotations

import functools
import re

from django.utils.functional import Promise
from django.utils.translation import get_language, override, pgettext, pgettext_lazy

# The arXiv taxonomy (https://arxiv.org/category_taxonomy): every category, and the archives
# a feed or a paper can name on their own ("q-bio", "cond-mat").
ARXIV_CATEGORIES: dict[str, Promise] = {
    # Archives and groups
    "cs": pgettext_lazy("arXiv category", "Computer Science"),
    "econ": pgettext_lazy("arXiv category", "Economics"),
    "eess": pgettext_lazy("arXiv category", "Electrical Engineering and Systems Science"),
    "math": pgettext_lazy("arXiv category", "Mathematics"),
    "physics": pgettext_lazy("arXiv category", "Physics"),
    "q-bio": pgettext_lazy("arXiv category", "Quantitative Biology"),
    "q-fin": pgettext_lazy("arXiv category", "Quantitative Finance"),
    "stat": pgettext_lazy("arXiv category", "Statistics"),
    "astro-ph": pgettext_lazy("arXiv category", "Astrophysics"),
    "cond-mat": pgettext_lazy("arXiv category", "Condensed Matter"),
    "nlin": pgettext_lazy("arXiv category", "Nonlinear Sciences"),
    # Computer Science
    "cs.AI": pgettext_lazy("arXiv category", "Artificial Intelligence"),
    "cs.AR": pgettext_lazy("arXiv category", "Hardware Architecture"),
    "cs.CC": pgettext_lazy("arXiv category", "Computational Complexity"),
    "cs.CE": pgettext_lazy("arXiv category", "Computational Engineering, Finance, and Science"),
    "cs.CG": pgettext_lazy("arXiv category", "Computational Geometry"),
    "cs.CL": pgettext_lazy("arXiv category", "Computation and Language"),
    "cs.CR": pgettext_lazy("arXiv category", "Cryptography and Security"),
    "cs.CV": pgettext_lazy("arXiv category", "Computer Vision and Pattern Recognition"),
    "cs.CY": pgettext_lazy("arXiv category", "Computers and Society"),
    "cs.DB": pgettext_lazy("arXiv category", "Databases"),
    "cs.DC": pgettext_lazy("arXiv category", "Distributed, Parallel, and Cluster Computing"),
    "cs.DL": pgettext_lazy("arXiv category", "Digital Libraries"),
    "cs.DM": pgettext_lazy("arXiv category", "Discrete Mathematics"),
    "cs.DS": pgettext_lazy("arXiv category", "Data Structures and Algorithms"),
    "cs.ET": pgettext_lazy("arXiv category", "Emerging Technologies"),
    "cs.FL": pgettext_lazy("arXiv category", "Formal Languages and Automata Theory"),
    "cs.GL": pgettext_lazy("arXiv category", "General Literature"),
    "cs.GR": pgettext_lazy("arXiv category", "Graphics"),
    "cs.GT": pgettext_lazy("arXiv category", "Computer Science and Game Theory"),
    "cs.HC": pgettext_lazy("arXiv category", "Human-Computer Interaction"),
    "cs.IR": pgettext_lazy("arXiv category", "Information Retrieval"),
    "cs.IT": pgettext_lazy("arXiv category", "Information Theory"),
    "cs.LG": pgettext_lazy("arXiv category", "Machine Learning"),
    "cs.LO": pgettext_lazy("arXiv category", "Logic in Computer Science"),
    "cs.MA": pgettext_lazy("arXiv category", "Multiagent Systems"),
    "cs.MM": pgettext_lazy("arXiv category", "Multimedia"),
    "cs.MS": pgettext_lazy("arXiv category", "Mathematical Software"),
    "cs.NA": pgettext_lazy("arXiv category", "Numerical Analysis"),
    "cs.NE": pgettext_lazy("arXiv category", "Neural and Evolutionary Computing"),
    "cs.NI": pgettext_lazy("arXiv category", "Networking and Internet Architecture"),
    "cs.OH": pgettext_lazy("arXiv category", "Other Computer Science"),
    "cs.OS": pgettext_lazy("arXiv category", "Operating Systems"),
    "cs.PF": pgettext_lazy("arXiv category", "Performance"),
    "cs.PL": pgettext_lazy("arXiv category", "Programming Languages"),
    "cs.RO": pgettext_lazy("arXiv category", "Robotics"),
    "cs.SC": pgettext_lazy("arXiv category", "Symbolic Computation"),
    "cs.SD": pgettext_lazy("arXiv category", "Sound"),
    "cs.SE": pgettext_lazy("arXiv category", "Software Engineering"),
    "cs.SI": pgettext_lazy("arXiv category", "Social and Information Networks"),
    "cs.SY": pgettext_lazy("arXiv category", "Systems and Control"),
    # Economics
    "econ.EM": pgettext_lazy("arXiv category", "Econometrics"),
    "econ.GN": pgettext_lazy("arXiv category", "General Economics"),
    "econ.TH": pgettext_lazy("arXiv category", "Theoretical Economics"),
    # Electrical Engineering and Systems Science
    "eess.AS": pgettext_lazy("arXiv category", "Audio and Speech Processing"),
    "eess.IV": pgettext_lazy("arXiv category", "Image and Video Processing"),
    "eess.SP": pgettext_lazy("arXiv category", "Signal Processing"),
    "eess.SY": pgettext_lazy("arXiv category", "Systems and Control"),
    # Mathematics
    "math.AC": pgettext_lazy("arXiv category", "Commutative Algebra"),
    "math.AG": pgettext_lazy("arXiv category", "Algebraic Geometry"),
    "math.AP": pgettext_lazy("arXiv category", "Analysis of PDEs"),
    "math.AT": pgettext_lazy("arXiv category", "Algebraic Topology"),
    "math.CA": pgettext_lazy("arXiv category", "Classical Analysis and ODEs"),
    "math.CO": pgettext_lazy("arXiv category", "Combinatorics"),
    "math.CT": pgettext_lazy("arXiv category", "Category Theory"),
    "math.CV": pgettext_lazy("arXiv category", "Complex Variables"),
    "math.DG": pgettext_lazy("arXiv category", "Differential Geometry"),
    "math.DS": pgettext_lazy("arXiv category", "Dynamical Systems"),
    "math.FA": pgettext_lazy("arXiv category", "Functional Analysis"),
    "math.GM": pgettext_lazy("arXiv category", "General Mathematics"),
    "math.GN": pgettext_lazy("arXiv category", "General Topology"),
    "math.GR": pgettext_lazy("arXiv category", "Group Theory"),
    "math.GT": pgettext_lazy("arXiv category", "Geometric Topology"),
    "math.HO": pgettext_lazy("arXiv category", "History and Overview"),
    "math.IT": pgettext_lazy("arXiv category", "Information Theory"),
    "math.KT": pgettext_lazy("arXiv category", "K-Theory and Homology"),
    "math.LO": pgettext_lazy("arXiv category", "Logic"),
    "math.MG": pgettext_lazy("arXiv category", "Metric Geometry"),
    "math.MP": pgettext_lazy("arXiv category", "Mathematical Physics"),
    "math.NA": pgettext_lazy("arXiv category", "Numerical Analysis"),
    "math.NT": pgettext_lazy("arXiv category", "Number Theory"),
    "math.OA": pgettext_lazy("arXiv category", "Operator Algebras"),
    "math.OC": pgettext_lazy("arXiv category", "Optimization and Control"),
    "math.PR": pgettext_lazy("arXiv category", "Probability"),
    "math.QA": pgettext_lazy("arXiv category", "Quantum Algebra"),
    "math.RA": pgettext_lazy("arXiv category", "Rings and Algebras"),
    "math.RT": pgettext_lazy("arXiv category", "Representation Theory"),
    "math.SG": pgettext_lazy("arXiv category", "Symplectic Geometry"),
    "math.SP": pgettext_lazy("arXiv category", "Spectral Theory"),
    "math.ST": pgettext_lazy("arXiv category", "Statistics Theory"),
    # Physics
    "astro-ph.CO": pgettext_lazy("arXiv category", "Cosmology and Nongalactic Astrophysics"),
    "astro-ph.EP": pgettext_lazy("arXiv category", "Earth and Planetary Astrophysics"),
    "astro-ph.GA": pgettext_lazy("arXiv category", "Astrophysics of Galaxies"),
    "astro-ph.HE": pgettext_lazy("arXiv category", "High Energy Astrophysical Phenomena"),
    "astro-ph.IM": pgettext_lazy("arXiv category", "Instrumentation and Methods for Astrophysics"),
    "astro-ph.SR": pgettext_lazy("arXiv category", "Solar and Stellar Astrophysics"),
    "cond-mat.dis-nn": pgettext_lazy("arXiv category", "Disordered Systems and Neural Networks"),
    "cond-mat.mes-hall": pgettext_lazy("arXiv category", "Mesoscale and Nanoscale Physics"),
    "cond-mat.mtrl-sci": pgettext_lazy("arXiv category", "Materials Science"),
    "cond-mat.other": pgettext_lazy("arXiv category", "Other Condensed Matter"),
    "cond-mat.quant-gas": pgettext_lazy("arXiv category", "Quantum Gases"),
    "cond-mat.soft": pgettext_lazy("arXiv category", "Soft Condensed Matter"),
    "cond-mat.stat-mech": pgettext_lazy("arXiv category", "Statistical Mechanics"),
    "cond-mat.str-el": pgettext_lazy("arXiv category", "Strongly Correlated Electrons"),
    "cond-mat.supr-con": pgettext_lazy("arXiv category", "Superconductivity"),
    "gr-qc": pgettext_lazy("arXiv category", "General Relativity and Quantum Cosmology"),
    "hep-ex": pgettext_lazy("arXiv category", "High Energy Physics - Experiment"),
    "hep-lat": pgettext_lazy("arXiv category", "High Energy Physics - Lattice"),
    "hep-ph": pgettext_lazy("arXiv category", "High Energy Physics - Phenomenology"),
    "hep-th": pgettext_lazy("arXiv category", "High Energy Physics - Theory"),
    "math-ph": pgettext_lazy("arXiv category", "Mathematical Physics"),
    "nlin.AO": pgettext_lazy("arXiv category", "Adaptation and Self-Organizing Systems"),
    "nlin.CD": pgettext_lazy("arXiv category", "Chaotic Dynamics"),
    "nlin.CG": pgettext_lazy("arXiv category", "Cellular Automata and Lattice Gases"),
    "nlin.PS": pgettext_lazy("arXiv category", "Pattern Formation and Solitons"),
    "nlin.SI": pgettext_lazy("arXiv category", "Exactly Solvable and Integrable Systems"),
    "nucl-ex": pgettext_lazy("arXiv category", "Nuclear Experiment"),
    "nucl-th": pgettext_lazy("arXiv category", "Nuclear Theory"),
    "physics.acc-ph": pgettext_lazy("arXiv category", "Accelerator Physics"),
    "physics.ao-ph": pgettext_lazy("arXiv category", "Atmospheric and Oceanic Physics"),
    "physics.app-ph": pgettext_lazy("arXiv category", "Applied Physics"),
    "physics.atm-clus": pgettext_lazy("arXiv category", "Atomic and Molecular Clusters"),
    "physics.atom-ph": pgettext_lazy("arXiv category", "Atomic Physics"),
    "physics.bio-ph": pgettext_lazy("arXiv category", "Biological Physics"),
    "physics.chem-ph": pgettext_lazy("arXiv category", "Chemical Physics"),
    "physics.class-ph": pgettext_lazy("arXiv category", "Classical Physics"),
    "physics.comp-ph": pgettext_lazy("arXiv category", "Computational Physics"),
    "physics.data-an": pgettext_lazy("arXiv category", "Data Analysis, Statistics and Probability"),
    "physics.ed-ph": pgettext_lazy("arXiv category", "Physics Education"),
    "physics.flu-dyn": pgettext_lazy("arXiv category", "Fluid Dynamics"),
    "physics.gen-ph": pgettext_lazy("arXiv category", "General Physics"),
    "physics.geo-ph": pgettext_lazy("arXiv category", "Geophysics"),
    "physics.hist-ph": pgettext_lazy("arXiv category", "History and Philosophy of Physics"),
    "physics.ins-det": pgettext_lazy("arXiv category", "Instrumentation and Detectors"),
    "physics.med-ph": pgettext_lazy("arXiv category", "Medical Physics"),
    "physics.optics": pgettext_lazy("arXiv category", "Optics"),
    "physics.plasm-ph": pgettext_lazy("arXiv category", "Plasma Physics"),
    "physics.pop-ph": pgettext_lazy("arXiv category", "Popular Physics"),
    "physics.soc-ph": pgettext_lazy("arXiv category", "Physics and Society"),
    "physics.space-ph": pgettext_lazy("arXiv category", "Space Physics"),
    "quant-ph": pgettext_lazy("arXiv category", "Quantum Physics"),
    # Quantitative Biology
    "q-bio.BM": pgettext_lazy("arXiv category", "Biomolecules"),
    "q-bio.CB": pgettext_lazy("arXiv category", "Cell Behavior"),
    "q-bio.GN": pgettext_lazy("arXiv category", "Genomics"),
    "q-bio.MN": pgettext_lazy("arXiv category", "Molecular Networks"),
    "q-bio.NC": pgettext_lazy("arXiv category", "Neurons and Cognition"),
    "q-bio.OT": pgettext_lazy("arXiv category", "Other Quantitative Biology"),
    "q-bio.PE": pgettext_lazy("arXiv category", "Populations and Evolution"),
    "q-bio.QM": pgettext_lazy("arXiv category", "Quantitative Methods"),
    "q-bio.SC": pgettext_lazy("arXiv category", "Subcellular Processes"),
    "q-bio.TO": pgettext_lazy("arXiv category", "Tissues and Organs"),
    # Quantitative Finance
    "q-fin.CP": pgettext_lazy("arXiv category", "Computational Finance"),
    "q-fin.EC": pgettext_lazy("arXiv category", "Economics"),
    "q-fin.GN": pgettext_lazy("arXiv category", "General Finance"),
    "q-fin.MF": pgettext_lazy("arXiv category", "Mathematical Finance"),
    "q-fin.PM": pgettext_lazy("arXiv category", "Portfolio Management"),
    "q-fin.PR": pgettext_lazy("arXiv category", "Pricing of Securities"),
    "q-fin.RM": pgettext_lazy("arXiv category", "Risk Management"),
    "q-fin.ST": pgettext_lazy("arXiv category", "Statistical Finance"),
    "q-fin.TR": pgettext_lazy("arXiv category", "Trading and Market Microstructure"),
    # Statistics
    "stat.AP": pgettext_lazy("arXiv category", "Applications"),
    "stat.CO": pgettext_lazy("arXiv category", "Computation"),
    "stat.ME": pgettext_lazy("arXiv category", "Methodology"),
    "stat.ML": pgettext_lazy("arXiv category", "Machine Learning"),
    "stat.OT": pgettext_lazy("arXiv category", "Other Statistics"),
    "stat.TH": pgettext_lazy("arXiv category", "Statistics Theory"),
}  # fmt: skip

# bioRxiv's and medRxiv's subject categories, by their lower-cased form (as stored in
# `Paper.primary_category` by feeds.sources.biorxiv_api).
PREPRINT_SUBJECTS: dict[str, Promise] = {
    # bioRxiv
    "animal behavior and cognition": pgettext_lazy("preprint subject", "Animal Behavior and Cognition"),
    "biochemistry": pgettext_lazy("preprint subject", "Biochemistry"),
    "bioengineering": pgettext_lazy("preprint subject", "Bioengineering"),
    "bioinformatics": pgettext_lazy("preprint subject", "Bioinformatics"),
    "biophysics": pgettext_lazy("preprint subject", "Biophysics"),
    "cancer biology": pgettext_lazy("preprint subject", "Cancer Biology"),
    "cell biology": pgettext_lazy("preprint subject", "Cell Biology"),
    "clinical trials": pgettext_lazy("preprint subject", "Clinical Trials"),
    "developmental biology": pgettext_lazy("preprint subject", "Developmental Biology"),
    "ecology": pgettext_lazy("preprint subject", "Ecology"),
    "epidemiology": pgettext_lazy("preprint subject", "Epidemiology"),
    "evolutionary biology": pgettext_lazy("preprint subject", "Evolutionary Biology"),
    "genetics": pgettext_lazy("preprint subject", "Genetics"),
    "genomics": pgettext_lazy("preprint subject", "Genomics"),
    "immunology": pgettext_lazy("preprint subject", "Immunology"),
    "microbiology": pgettext_lazy("preprint subject", "Microbiology"),
    "molecular biology": pgettext_lazy("preprint subject", "Molecular Biology"),
    "neuroscience": pgettext_lazy("preprint subject", "Neuroscience"),
    "paleontology": pgettext_lazy("preprint subject", "Paleontology"),
    "pathology": pgettext_lazy("preprint subject", "Pathology"),
    "pharmacology and toxicology": pgettext_lazy("preprint subject", "Pharmacology and Toxicology"),
    "physiology": pgettext_lazy("preprint subject", "Physiology"),
    "plant biology": pgettext_lazy("preprint subject", "Plant Biology"),
    "scientific communication and education": pgettext_lazy("preprint subject", "Scientific Communication and Education"),
    "synthetic biology": pgettext_lazy("preprint subject", "Synthetic Biology"),
    "systems biology": pgettext_lazy("preprint subject", "Systems Biology"),
    "zoology": pgettext_lazy("preprint subject", "Zoology"),
    # medRxiv
    "addiction medicine": pgettext_lazy("preprint subject", "Addiction Medicine"),
    "allergy and immunology": pgettext_lazy("preprint subject", "Allergy and Immunology"),
    "anesthesia": pgettext_lazy("preprint subject", "Anesthesia"),
    "cardiovascular medicine": pgettext_lazy("preprint subject", "Cardiovascular Medicine"),
    "dentistry and oral medicine": pgettext_lazy("preprint subject", "Dentistry and Oral Medicine"),
    "dermatology": pgettext_lazy("preprint subject", "Dermatology"),
    "emergency medicine": pgettext_lazy("preprint subject", "Emergency Medicine"),
    "endocrinology": pgettext_lazy("preprint subject", "Endocrinology"),
    "endocrinology (including diabetes mellitus and metabolic disease)": pgettext_lazy("preprint subject", "Endocrinology (including Diabetes Mellitus and Metabolic Disease)"),
    "forensic medicine": pgettext_lazy("preprint subject", "Forensic Medicine"),
    "gastroenterology and hepatology": pgettext_lazy("preprint subject", "Gastroenterology and Hepatology"),
    "genetic and genomic medicine": pgettext_lazy("preprint subject", "Genetic and Genomic Medicine"),
    "geriatric medicine": pgettext_lazy("preprint subject", "Geriatric Medicine"),
    "health economics": pgettext_lazy("preprint subject", "Health Economics"),
    "health informatics": pgettext_lazy("preprint subject", "Health Informatics"),
    "health policy": pgettext_lazy("preprint subject", "Health Policy"),
    "health systems and quality improvement": pgettext_lazy("preprint subject", "Health Systems and Quality Improvement"),
    "hematology": pgettext_lazy("preprint subject", "Hematology"),
    "hiv/aids": pgettext_lazy("preprint subject", "HIV/AIDS"),
    "infectious diseases": pgettext_lazy("preprint subject", "Infectious Diseases"),
    "infectious diseases (except hiv/aids)": pgettext_lazy("preprint subject", "Infectious Diseases (except HIV/AIDS)"),
    "intensive care and critical care medicine": pgettext_lazy("preprint subject", "Intensive Care and Critical Care Medicine"),
    "medical education": pgettext_lazy("preprint subject", "Medical Education"),
    "medical ethics": pgettext_lazy("preprint subject", "Medical Ethics"),
    "nephrology": pgettext_lazy("preprint subject", "Nephrology"),
    "neurology": pgettext_lazy("preprint subject", "Neurology"),
    "nursing": pgettext_lazy("preprint subject", "Nursing"),
    "nutrition": pgettext_lazy("preprint subject", "Nutrition"),
    "obstetrics and gynecology": pgettext_lazy("preprint subject", "Obstetrics and Gynecology"),
    "occupational and environmental health": pgettext_lazy("preprint subject", "Occupational and Environmental Health"),
    "oncology": pgettext_lazy("preprint subject", "Oncology"),
    "ophthalmology": pgettext_lazy("preprint subject", "Ophthalmology"),
    "orthopedics": pgettext_lazy("preprint subject", "Orthopedics"),
    "otolaryngology": pgettext_lazy("preprint subject", "Otolaryngology"),
    "pain medicine": pgettext_lazy("preprint subject", "Pain Medicine"),
    "palliative medicine": pgettext_lazy("preprint subject", "Palliative Medicine"),
    "pediatrics": pgettext_lazy("preprint subject", "Pediatrics"),
    "pharmacology and therapeutics": pgettext_lazy("preprint subject", "Pharmacology and Therapeutics"),
    "primary care research": pgettext_lazy("preprint subject", "Primary Care Research"),
    "psychiatry and clinical psychology": pgettext_lazy("preprint subject", "Psychiatry and Clinical Psychology"),
    "public and global health": pgettext_lazy("preprint subject", "Public and Global Health"),
    "radiology and imaging": pgettext_lazy("preprint subject", "Radiology and Imaging"),
    "rehabilitation medicine and physical therapy": pgettext_lazy("preprint subject", "Rehabilitation Medicine and Physical Therapy"),
    "respiratory medicine": pgettext_lazy("preprint subject", "Respiratory Medicine"),
    "rheumatology": pgettext_lazy("preprint subject", "Rheumatology"),
    "sexual and reproductive health": pgettext_lazy("preprint subject", "Sexual and Reproductive Health"),
    "sports medicine": pgettext_lazy("preprint subject", "Sports Medicine"),
    "surgery": pgettext_lazy("preprint subject", "Surgery"),
    "toxicology": pgettext_lazy("preprint subject", "Toxicology"),
    "transplantation": pgettext_lazy("preprint subject", "Transplantation"),
    "urology": pgettext_lazy("preprint subject", "Urology"),
}  # fmt: skip

# `Source.discipline` values of the catalogue, the demo and the usual staff choices.
DISCIPLINES: dict[str, Promise] = {
    "Multidisciplinary": pgettext_lazy("discipline", "Multidisciplinary"),
    "Computer Science": pgettext_lazy("discipline", "Computer Science"),
    "Biology": pgettext_lazy("discipline", "Biology"),
    "Medicine": pgettext_lazy("discipline", "Medicine"),
    "Physics": pgettext_lazy("discipline", "Physics"),
    "Physical Sciences": pgettext_lazy("discipline", "Physical Sciences"),
    "Statistics": pgettext_lazy("discipline", "Statistics"),
    "Mathematics": pgettext_lazy("discipline", "Mathematics"),
    "Quantitative Biology": pgettext_lazy("discipline", "Quantitative Biology"),
    "Quantitative Finance": pgettext_lazy("discipline", "Quantitative Finance"),
    "Economics": pgettext_lazy("discipline", "Economics"),
    "Electrical Engineering": pgettext_lazy("discipline", "Electrical Engineering"),
    "Chemistry": pgettext_lazy("discipline", "Chemistry"),
    "Astronomy": pgettext_lazy("discipline", "Astronomy"),
    "Earth Sciences": pgettext_lazy("discipline", "Earth Sciences"),
    "Engineering": pgettext_lazy("discipline", "Engineering"),
    "Materials Science": pgettext_lazy("discipline", "Materials Science"),
    "Neuroscience": pgettext_lazy("discipline", "Neuroscience"),
    "Psychology": pgettext_lazy("discipline", "Psychology"),
    "Social Sciences": pgettext_lazy("discipline", "Social Sciences"),
}

# The starter public topics (radar/management/commands/seed_topics.py), by their stored name.
TOPIC_NAMES: dict[str, Promise] = {
    "LLM agents and safety": pgettext_lazy("topic", "LLM agents and safety"),
    "Diffusion models": pgettext_lazy("topic", "Diffusion models"),
    "Single-cell omics": pgettext_lazy("topic", "Single-cell omics"),
    "Medical imaging AI": pgettext_lazy("topic", "Medical imaging AI"),
    "Quantum information": pgettext_lazy("topic", "Quantum information"),
    "Causal inference": pgettext_lazy("topic", "Causal inference"),
    "Robot learning": pgettext_lazy("topic", "Robot learning"),
    "Machine learning for weather and climate": pgettext_lazy(
        "topic", "Machine learning for weather and climate"
    ),
    "Protein structure and design": pgettext_lazy("topic", "Protein structure and design"),
    "Gravitational waves": pgettext_lazy("topic", "Gravitational waves"),
}

# The starter topics' descriptions, by the topic's stored name. Shown translated only while a
# topic still has this very description: one its owner rewrote is shown as they wrote it.
TOPIC_DESCRIPTIONS: dict[str, Promise] = {
    "LLM agents and safety": pgettext_lazy(
        "topic description",
        "Large language model agents that plan, use tools and act on their own, and how to "
        "keep language models safe: jailbreaks, prompt injection, red teaming, alignment, and "
        "evaluations of harmful or deceptive behaviour.",
    ),
    "Diffusion models": pgettext_lazy(
        "topic description",
        "Diffusion and score-based generative models and flow matching: image, video, audio "
        "and 3D generation, guidance and editing, fast sampling, and the theory behind them.",
    ),
    "Single-cell omics": pgettext_lazy(
        "topic description",
        "Single-cell and spatial omics: single-cell RNA sequencing, chromatin accessibility "
        "and multi-omics, cell atlases, cell type annotation, trajectory inference, and the "
        "computational methods behind them.",
    ),
    "Medical imaging AI": pgettext_lazy(
        "topic description",
        "Machine learning on medical images: radiology, pathology and ophthalmology; "
        "segmentation, detection and diagnosis from CT, MRI, X-ray, ultrasound and "
        "whole-slide images; medical foundation models and their clinical validation.",
    ),
    "Quantum information": pgettext_lazy(
        "topic description",
        "Quantum information science: quantum computing and quantum algorithms, quantum "
        "error correction and fault tolerance, entanglement, quantum communication and "
        "cryptography, and experiments with qubits.",
    ),
    "Causal inference": pgettext_lazy(
        "topic description",
        "Causal inference from data: treatment effects, causal discovery, instrumental "
        "variables, difference-in-differences, counterfactual reasoning, and causality in "
        "machine learning.",
    ),
    "Robot learning": pgettext_lazy(
        "topic description",
        "Learning for robots: reinforcement and imitation learning for manipulation and "
        "locomotion, sim-to-real transfer, vision-language-action models, and robot "
        "foundation models.",
    ),
    "Machine learning for weather and climate": pgettext_lazy(
        "topic description",
        "Machine learning for weather and climate: data-driven weather forecasting, climate "
        "model emulation and downscaling, extreme events, and Earth observation from "
        "satellites.",
    ),
    "Protein structure and design": pgettext_lazy(
        "topic description",
        "Protein structure prediction and design: AlphaFold-style structure models, protein "
        "language models, generative design of binders and enzymes, and molecular docking.",
    ),
    "Gravitational waves": pgettext_lazy(
        "topic description",
        "Gravitational-wave astronomy: detections by LIGO, Virgo and KAGRA, compact binary "
        "mergers, waveform models, pulsar timing arrays, and tests of general relativity "
        "with gravitational waves.",
    ),
}

# "arXiv (cs.CL)", "medRxiv (Medicine)": a stored source label naming what it carries.
_LABEL_WITH_PART = re.compile(r"^(?P<server>.+?) \((?P<part>[^()]+)\)$")


def _shows_names() -> bool:
    # An English reader knows "cs.CL" already; other readers get its name next to the code.
    return not (get_language() or "en").startswith("en")


def category_name(code: str) -> str:
    """An arXiv category's (or archive's) name in the current language; "" when unknown."""
    name = ARXIV_CATEGORIES.get(code.strip())
    return str(name) if name is not None else ""


def category_label(code: str) -> str:
    """ "cs.CL" for English readers, "cs.CL 计算与语言" for Chinese ones (the code alone when its
    name is unknown)."""
    name = category_name(code) if _shows_names() else ""
    return f"{code} {name}" if name else code


def paper_category_label(code: str) -> str:
    """One of a paper's stored categories for readers: an arXiv category as `category_label`
    shows it ("math.CO", "math.CO 组合数学"), a bioRxiv/medRxiv subject by its name
    ("Microbiology", "微生物学"); anything else as stored."""
    code = code.strip()
    if code in ARXIV_CATEGORIES:
        return category_label(code)
    if " ".join(code.split()).lower() in PREPRINT_SUBJECTS:
        return subject_name(code)
    return code


# The discipline (a DISCIPLINES key) of each arXiv archive, a category's part before the dot.
ARXIV_ARCHIVE_DISCIPLINES = {
    "cs": "Computer Science",
    "stat": "Statistics",
    "math": "Mathematics",
    "q-bio": "Quantitative Biology",
    "q-fin": "Quantitative Finance",
    "econ": "Economics",
    "eess": "Electrical Engineering",
    "astro-ph": "Astronomy",
    **dict.fromkeys(
        [
            "physics", "quant-ph", "cond-mat", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th",
            "nucl-ex", "nucl-th", "math-ph", "nlin",
        ],
        "Physics",
    ),
}  # fmt: skip


def arxiv_discipline(category: str) -> str:
    """The discipline of an arXiv category ("cs.CL": "Computer Science"), in English as
    stored (`discipline_name` names it); "" for a code arXiv does not have."""
    return ARXIV_ARCHIVE_DISCIPLINES.get(category.strip().split(".")[0], "")


def subject_name(subject: str) -> str:
    """A bioRxiv/medRxiv subject in the current language, else title-cased as stored."""
    key = " ".join(subject.split()).lower()
    name = PREPRINT_SUBJECTS.get(key)
    return str(name) if name is not None else key.title()


def discipline_name(discipline: str) -> str:
    """A `Source.discipline` in the current language, else as stored."""
    name = DISCIPLINES.get(discipline.strip())
    return str(name) if name is not None else discipline


def topic_name(name: str) -> str:
    """A starter topic's name in the current language; any other name as its owner wrote it."""
    translated = TOPIC_NAMES.get(name)
    return str(translated) if translated is not None else name


@functools.cache
def _starter_description(name: str) -> str:
    # The English text as seeded: a proxy's msgid is only reachable by rendering it in English.
    with override("en"):
        return str(TOPIC_DESCRIPTIONS[name])


def topic_description(name: str, description: str) -> str:
    """A starter topic's description in the current language while it is still the starter
    text; any other description as its owner wrote it."""
    translated = TOPIC_DESCRIPTIONS.get(name)
    if translated is None or description != _starter_description(name):
        return description
    return str(translated)


def arxiv_label(code: str) -> str:
    """ "arXiv (cs.CL)" for English readers, "arXiv（cs.CL 计算与语言）" for Chinese ones."""
    if not code:
        return "arXiv"
    name = category_name(code)
    if name and _shows_names():
        return pgettext("source label", "%(server)s (%(code)s %(name)s)") % {
            "server": "arXiv",
            "code": code,
            "name": name,
        }
    return pgettext("source label", "%(server)s (%(subject)s)") % {
        "server": "arXiv",
        "subject": code,
    }


def preprint_label(server: str, subject: str) -> str:
    """ "bioRxiv (Bioinformatics)" / "bioRxiv（生物信息学）"; the server alone without one."""
    if not subject.strip():
        return server
    return pgettext("source label", "%(server)s (%(subject)s)") % {
        "server": server,
        "subject": subject_name(subject),
    }


def source_name(label: str) -> str:
    """A stored source label in the current language when it names a known category,
    subject or discipline in parentheses ("arXiv (cs.CL)", "medRxiv (Medicine)"); else as is."""
    match = _LABEL_WITH_PART.match(label)
    if match is None:
        return label
    server, part = match["server"], match["part"].strip()
    if part in ARXIV_CATEGORIES:
        return arxiv_label(part) if server == "arXiv" else label
    if part.lower() in PREPRINT_SUBJECTS:
        return preprint_label(server, part)
    if part in DISCIPLINES:
        return pgettext("source label", "%(server)s (%(subject)s)") % {
            "server": server,
            "subject": discipline_name(part),
        }
    return label
