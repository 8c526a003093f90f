"""Test data, built one way: factory-boy factories for the models, and the few builders over
them that tests share (a paper seen by a source, a radar its owner follows, a person with a
profile, a signed-in client, a finished card)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from accounts.models import Profile
from digests.cards import text_hash
from digests.models import Card
from feeds.models import Paper, PaperSighting, Source
from radar.models import Match, Radar, Subscription
from testkit.fake_llm import valid_card

# --- People ----------------------------------------------------------------------------------

PASSWORD = "correct horse battery staple 42"


class UserFactory(factory.django.DjangoModelFactory[User]):
    """An active user with a confirmed primary email address, ready to log in."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    # Unique per run as well as per test: allauth's rate limits live in Redis, which
    # outlives the test database.
    email = factory.LazyAttribute(lambda o: f"{o.name}-{uuid.uuid4().hex[:10]}@example.org")
    username = factory.SelfAttribute("email")

    class Params:
        name = "user"

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


def make_user(email: str, **fields: Any) -> Any:
    """A user signed up with `email` (whatever the user model's login field), no confirmed
    address: for tests that only need someone to own things."""
    user_model = get_user_model()
    fields = {"email": email, "password": "a long passphrase 42", **fields}
    if user_model.USERNAME_FIELD != "email":
        fields[user_model.USERNAME_FIELD] = email.split("@")[0]
    return user_model.objects.create_user(**fields)


def person(
    name: str,
    *,
    zone: str = "UTC",
    hour: int = 7,
    weekday: int = 0,
    language: str = "en",
    digest_frequency: str = "daily",
    card_language: str = "en",
) -> User:
    """A user with a confirmed address and a profile (summaries in `card_language`)."""
    user = UserFactory.create(name=name)
    Profile.objects.create(
        user=user,
        timezone=zone,
        delivery_hour=hour,
        delivery_weekday=weekday,
        language=language,
        digest_frequency=digest_frequency,
        card_language=card_language,
    )
    return user


def random_ip() -> str:
    """A client address of its own, so per-IP limits never carry over between tests."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def fresh_client(**kwargs: object) -> Client:
    """A test client from an address no earlier test used."""
    return Client(REMOTE_ADDR=random_ip(), **kwargs)  # type: ignore[arg-type]


def signed_in(user: User) -> Client:
    """A client logged in as `user`."""
    client = Client()
    client.force_login(user)
    return client


def signed_in_reader(client: Client, email: str = "reader@example.org") -> Any:
    """Log `client` in as a new user and return the user."""
    user = make_user(email)
    client.force_login(user)
    return user


# --- Sources and papers ----------------------------------------------------------------------

DAY = date(2024, 11, 28)
ABSTRACT = (
    "Summarising long scientific documents is expensive because full attention grows as "
    "$O(n^2)$ with the input length. We propose a sparse attention scheme that keeps a few "
    "global tokens and attends locally within fixed windows. On two benchmarks it matches "
    "full attention while using a third of the memory. Sparse attention is therefore a "
    "practical default for long inputs."
)


class SourceFactory(factory.django.DjangoModelFactory[Source]):
    class Meta:
        model = Source

    slug = factory.Sequence(lambda n: f"source-{n}")
    kind = Source.Kind.ARXIV_RSS
    url = "https://rss.arxiv.org/rss/cs.CL"
    label = factory.Sequence(lambda n: f"Source {n}")
    discipline = "Computer Science"
    poll_interval = timedelta(hours=1)


class PaperFactory(factory.django.DjangoModelFactory[Paper]):
    class Meta:
        model = Paper

    key = factory.Sequence(lambda n: f"2411.{n:05d}")
    arxiv_id = factory.SelfAttribute("key")
    title = factory.Sequence(lambda n: f"Paper number {n}")
    abstract = "An abstract."
    authors = factory.LazyFunction(lambda: ["Ada Lovelace"])
    announced = factory.LazyFunction(lambda: DAY)
    content_hash = "x"


class SightingFactory(factory.django.DjangoModelFactory[PaperSighting]):
    class Meta:
        model = PaperSighting

    source = factory.SubFactory(SourceFactory)
    paper = factory.SubFactory(PaperFactory)
    announce_type = "new"


def arxiv_source(slug: str = "arxiv-cs-cl", **fields: Any) -> Source:
    """An arXiv RSS source (get or create by slug)."""
    defaults = {"kind": Source.Kind.ARXIV_RSS, "label": "arXiv cs.CL", **fields}
    return Source.objects.get_or_create(slug=slug, defaults={"url": "https://x.test/", **defaults})[
        0
    ]


def biorxiv_source() -> Source:
    """The bioRxiv API source."""
    return Source.objects.get_or_create(
        slug="biorxiv",
        defaults={
            "kind": Source.Kind.BIORXIV_API,
            "label": "bioRxiv",
            "discipline": "Biology",
            "url": "https://api.biorxiv.org/details/biorxiv",
        },
    )[0]


def journal_source(slug: str = "science", label: str = "Science") -> Source:
    """A journal RSS source."""
    return Source.objects.get_or_create(
        slug=slug,
        defaults={
            "kind": Source.Kind.RSS,
            "label": label,
            "discipline": "Multidisciplinary",
            "url": "https://www.science.org/rss",
        },
    )[0]


def sources() -> dict[str, Source]:
    """An arXiv, a bioRxiv and a journal source, each of its own discipline."""
    return {
        "cs": SourceFactory.create(
            slug="arxiv-cs", kind=Source.Kind.ARXIV_RSS, label="arXiv cs",
            discipline="Computer Science",
        ),
        "bio": SourceFactory.create(
            slug="biorxiv", kind=Source.Kind.BIORXIV_API, label="bioRxiv",
            discipline="Biology", url="https://api.biorxiv.org/details/biorxiv",
        ),
        "med": SourceFactory.create(
            slug="plos-med", kind=Source.Kind.RSS, label="PLOS Medicine",
            discipline="Medicine", url="https://journals.plos.org/plosmedicine/feed/atom",
        ),
    }  # fmt: skip


def arxiv_paper(source: Source | None = None, **fields: Any) -> Paper:
    """An arXiv paper seen by an arXiv source."""
    fields.setdefault("primary_category", "cs.CL")
    fields.setdefault("categories", [fields["primary_category"]])
    fields.setdefault("announced", DAY)
    paper = PaperFactory.create(**fields)
    paper.links = paper.links or {
        "abs": f"https://arxiv.org/abs/{paper.arxiv_id}",
        "pdf": f"https://arxiv.org/pdf/{paper.arxiv_id}v{paper.version}",
        "html": f"https://arxiv.org/html/{paper.arxiv_id}v{paper.version}",
    }
    paper.save(update_fields=["links"])
    SightingFactory.create(
        source=source or arxiv_source(), paper=paper, announce_type=paper.announce_type
    )
    return paper


def biorxiv_paper(**fields: Any) -> Paper:
    """A bioRxiv preprint, keyed by its DOI."""
    doi = fields.pop("doi", "10.1101/2024.11.20.624000")
    fields.setdefault("primary_category", "bioinformatics")
    fields.setdefault("categories", [fields["primary_category"]])
    fields.setdefault("announced", DAY)
    abs_url = f"https://www.biorxiv.org/content/{doi}v1"
    paper = PaperFactory.create(
        key=doi,
        doi=doi,
        arxiv_id="",
        links={"abs": abs_url, "pdf": abs_url + ".full.pdf", "doi": f"https://doi.org/{doi}"},
        **fields,
    )
    SightingFactory.create(source=biorxiv_source(), paper=paper)
    return paper


def journal_paper(source: Source | None = None, **fields: Any) -> Paper:
    """A journal article (HTML abstract already sanitised), keyed by its DOI."""
    doi = fields.pop("doi", "10.1126/science.adq0001")
    fields.setdefault("announced", DAY)
    paper = PaperFactory.create(
        key=doi,
        doi=doi,
        arxiv_id="",
        links={"abs": f"https://www.science.org/doi/{doi}", "doi": f"https://doi.org/{doi}"},
        **fields,
    )
    SightingFactory.create(source=source or journal_source(), paper=paper)
    return paper


def make_paper(source: Source | None = None, **fields: Any) -> Paper:
    """A paper announced today with a realistic abstract (`ABSTRACT`), seen by `source`."""
    fields.setdefault("abstract", ABSTRACT)
    fields.setdefault("primary_category", "cs.CL")
    fields.setdefault("categories", ["cs.CL", "cs.LG"])
    fields.setdefault("announced", timezone.localdate())
    paper = PaperFactory.create(**fields)
    if source is not None:
        PaperSighting.objects.create(source=source, paper=paper, announce_type="new")
    return paper


def paper(source: Source, title: str, **fields: Any) -> Paper:
    """A paper on sparse attention seen by `source` (an arXiv id, or a DOI elsewhere)."""
    fields.setdefault(
        "abstract",
        "We propose a sparse attention scheme for long inputs. It keeps a few global tokens "
        "and attends locally. On two benchmarks it matches full attention with a third of "
        "the memory.",
    )
    if source.kind == Source.Kind.ARXIV_RSS:
        fields.setdefault("primary_category", "cs.CL")
        fields.setdefault("categories", ["cs.CL", "cs.LG"])
    else:
        fields.setdefault("primary_category", "bioinformatics" if source.kind != "rss" else "")
        fields.setdefault(
            "categories", [fields["primary_category"]] if fields["primary_category"] else []
        )
    if source.kind != Source.Kind.ARXIV_RSS:
        n = Paper.objects.count()
        fields.setdefault("key", f"10.1101/2026.{n:06d}")
        fields.setdefault("arxiv_id", "")
        fields.setdefault("doi", fields["key"])
    made = PaperFactory.create(title=title, **fields)
    PaperSighting.objects.create(source=source, paper=made, announce_type="new")
    return made


# --- Radars, subscriptions and matches -------------------------------------------------------


class RadarFactory(factory.django.DjangoModelFactory[Radar]):
    """A radar stored directly (no rescoring task); `followed=True` subscribes its owner, as
    creating one on the site does."""

    class Meta:
        model = Radar
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Radar {n}")

    @factory.post_generation
    def followed(obj: Radar, create: bool, extracted: bool | None, **kwargs: object) -> None:
        if create and extracted:
            Subscription.objects.create(user=obj.owner, radar=obj)


class MatchFactory(factory.django.DjangoModelFactory[Match]):
    """A match (its `announced` day is its paper's)."""

    class Meta:
        model = Match

    radar = factory.SubFactory(RadarFactory)
    paper = factory.SubFactory(PaperFactory)
    score = 0.9
    reasons = factory.LazyFunction(lambda: [["title", "x"]])


def make_radar(owner: User, **fields: Any) -> Radar:
    """A radar on prompt injection that its owner follows, as the radar pages find it."""
    fields.setdefault("name", "Prompt injection")
    fields.setdefault("include", '"prompt injection"')
    return RadarFactory.create(owner=owner, followed=True, **fields)


def radar_of(user: User, name: str = "Long documents", active: bool = True) -> Radar:
    """A radar on summarising long documents (nobody follows it: cards only need matches)."""
    return RadarFactory.create(owner=user, name=name, description="summarising", active=active)


def follow(
    user: User,
    radar: Radar,
    *,
    frequency: str = "daily",
    language: str = "en",
    since: datetime | None = None,
) -> Subscription:
    """`user` subscribed to `radar` (long ago unless `since`)."""
    return Subscription.objects.create(
        user=user,
        radar=radar,
        frequency=frequency,
        language=language,
        created_at=since or datetime(2020, 1, 1, tzinfo=UTC),
    )


def matched(
    radar: Radar, papers: list[Paper], *, at: datetime, step: timedelta | None = None
) -> None:
    """Match rows for `papers` created at `at` (best first: falling scores)."""
    for n, item in enumerate(papers):
        MatchFactory.create(
            radar=radar,
            paper=item,
            score=1.0 - n * 0.01,
            reasons=[["phrase", "sparse attention"]],
            created_at=at + (step or timedelta(0)) * n,
        )


# --- Cards -----------------------------------------------------------------------------------


def card_for(paper: Paper, status: str = "done", **fields: Any) -> Card:
    """`paper`'s card in `status` (a valid card's text when done, none otherwise)."""
    content = valid_card() if status == "done" else {}
    defaults: dict[str, Any] = {
        "title_zh": content.get("title_zh", ""),
        "en": content.get("en", {}),
        "zh": content.get("zh", {}),
        "keywords": content.get("keywords", []),
    }
    defaults.update(fields)
    return Card.objects.create(
        paper=paper,
        text_hash=text_hash(paper.title, paper.abstract),
        prompt_version=defaults.pop("prompt_version", "card-v1"),
        model=defaults.pop("model", "gpt-4o-mini"),
        status=status,
        **defaults,
    )
