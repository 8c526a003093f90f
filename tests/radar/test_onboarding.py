"""Starting a radar from papers you like: the picker finds papers by words, a Chinese phrase,
an id, a DOI or an author; its buttons add and remove examples (here without JavaScript: the
form posts and comes back); the live preview follows the picked papers; the API agrees."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import translation

from accounts.models import Profile
from api.tokens import token_create
from feeds.models import Paper
from radar.forms import RadarForm
from radar.models import Radar
from radar.picker import examples_with, pasted_keys
from tests.factories import PaperFactory, make_radar, signed_in
from tests.pages import text_of

pytestmark = pytest.mark.django_db

PLASTIC = "An engineered enzyme embedded into PLA to make self-biodegradable plastic"
# Three papers on psychedelics and brain signalling, and one more on the same study.
LIKED = (
    "A psychedelic state arises from desynchronized brain activity",
    "Psilocybin desynchronizes the",  # "… human brain", with a no-break space
    "Adaptation to photoperiod via dynamic neurotransmitter segregation",
)
SIMILAR = "Your brain on shrooms — how psilocybin resets neural networks"


def key_of(title_start: str) -> str:
    return Paper.objects.get(title__startswith=title_start).key


def pick(client: Client, q: str, **params: str) -> str:
    response = client.get("/radars/pick/", {"pick": q, **params})
    assert response.status_code == 200
    return response.content.decode()


def add_buttons(html: str) -> list[str]:
    """The keys the results' "Add" buttons add, in order (enabled ones only)."""
    return re.findall(
        r'name="add_example" value="([^"]+)"[^>]*data-pick-add="[^"]*"\s*'
        r'data-label-add="[^"]*" data-label-added="[^"]*">',
        html,
    )


def textarea(html: str, name: str) -> str:
    found = re.search(rf'<textarea name="{name}"[^>]*>\n?(.*?)</textarea>', html, re.DOTALL)
    assert found, name
    return found.group(1)


# --- who may use the picker -----------------------------------------------------------------


def test_the_picker_sends_an_anonymous_visitor_to_log_in(nature_day: dict[str, str]) -> None:
    response = Client().get("/radars/pick/", {"pick": "plastic"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_picker_answers_only_get(alice: User) -> None:
    assert signed_in(alice).post("/radars/pick/", {"pick": "plastic"}).status_code == 405


def test_the_new_radar_page_shows_the_picker_and_its_script(alice: User) -> None:
    html = signed_in(alice).get("/radars/new/").content.decode()

    assert "Start from papers you like" in html
    assert 'id="radar-form"' in html and 'id="pick-q"' in html
    assert "/static/js/radar-picker.js" in html
    assert "None yet: add 3–5 papers." in text_of(html)
    assert "<script>" not in html and "onclick" not in html  # the CSP allows files only


# --- what the picker finds --------------------------------------------------------------------


def test_it_finds_papers_by_words_with_authors_source_date_and_an_add_button(
    alice: User, nature_day: dict[str, str]
) -> None:
    html = pick(signed_in(alice), "biodegradable plastic")

    assert PLASTIC in html
    assert nature_day[PLASTIC] in add_buttons(html)
    assert "Nature" in text_of(html)
    assert 'datetime="2024-07-1' in html


def test_a_chinese_phrase_finds_the_english_papers_it_means(
    alice: User, nature_day: dict[str, str]
) -> None:
    html = pick(signed_in(alice), "可生物降解的塑料")

    assert nature_day[PLASTIC] in add_buttons(html)[:3]


def test_an_arxiv_id_in_any_spelling_finds_its_paper(alice: User) -> None:
    paper = PaperFactory.create(title="Sparse attention for long documents")
    client = signed_in(alice)

    for spelling in (paper.key, f"arXiv:{paper.key}v2", f"https://arxiv.org/pdf/{paper.key}v1"):
        html = pick(client, spelling)
        assert add_buttons(html) == [paper.key], spelling
        assert "Not found" not in html


def test_a_doi_finds_its_paper_in_any_case(alice: User, nature_day: dict[str, str]) -> None:
    key = nature_day[PLASTIC]

    html = pick(signed_in(alice), f"https://doi.org/{key.upper()}")

    assert add_buttons(html) == [key]


def test_an_unknown_id_is_said_so_plainly(alice: User) -> None:
    html = pick(signed_in(alice), "2411.99999")

    assert "Not found: 2411.99999. No paper with this id or DOI is in AcademicHub yet" in text_of(
        html
    )
    assert add_buttons(html) == []


def test_pasting_several_ids_lists_them_with_one_button_to_add_them_all(alice: User) -> None:
    first, second = PaperFactory.create_batch(2)

    html = pick(signed_in(alice), f"{first.key}\n{second.key}, 10.1101/2099.01.01.000001")

    assert add_buttons(html) == [first.key, second.key]
    assert re.search(
        rf'<button[^>]*name="add_example" value="{first.key} {second.key}"[^>]*data-pick-auto', html
    )
    assert "Add all 2 papers" in html
    assert "Not found: 10.1101/2099.01.01.000001." in text_of(html)


def test_an_author_name_lists_their_recent_papers_and_offers_to_follow_them(alice: User) -> None:
    older = PaperFactory.create(authors=["Jane Doe", "Ada Lovelace"], title="Older work")
    newer = PaperFactory.create(authors=["Grace Hopper", "Jane Doe"], title="Newer work")
    newer.announced = older.announced.replace(day=older.announced.day + 1)
    newer.save()
    PaperFactory.create(authors=["Janet Doerr"], title="Someone else")

    html = pick(signed_in(alice), "jane doe")

    assert "Papers by Jane Doe" in html
    assert re.search(r'name="add_author" value="Jane Doe"', html)
    assert add_buttons(html) == [newer.key, older.key]
    assert "Someone else" not in html


def test_an_author_already_followed_shows_as_followed(alice: User) -> None:
    PaperFactory.create(authors=["Jane Doe"])

    html = pick(signed_in(alice), "Jane Doe", authors="jane doe")

    assert "Followed" in html and 'name="add_author"' not in html


def test_papers_already_picked_show_as_added(alice: User, nature_day: dict[str, str]) -> None:
    key = nature_day[PLASTIC]

    html = pick(signed_in(alice), "biodegradable plastic", examples=f"https://doi.org/{key}")

    assert key not in add_buttons(html)
    assert re.search(rf'value="{re.escape(key)}"[^>]*disabled>Added', html)


def test_nothing_found_says_what_to_try(alice: User) -> None:
    PaperFactory.create(title="Protein folding at scale")

    html = pick(signed_in(alice), "zzqxv wvvkq")

    assert "No paper found for “zzqxv wvvkq”" in text_of(html)


# --- adding and removing without JavaScript ---------------------------------------------------


def test_add_posts_the_form_back_with_the_paper_picked_and_nothing_saved(
    alice: User, nature_day: dict[str, str]
) -> None:
    key = nature_day[PLASTIC]

    response = signed_in(alice).post(
        "/radars/new/",
        {
            "name": "Plastics",
            "description": "",
            "examples": "",
            "pick": "plastic",
            "add_example": key,
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert textarea(html, "examples") == key
    assert "1 of 3–5 picked" in text_of(html)
    assert PLASTIC in html  # in the picked list (and the results come back too)
    assert 'value="plastic"' in html
    assert not Radar.objects.exists()


def test_remove_and_follow_post_the_form_back_changed(alice: User) -> None:
    kept, dropped = PaperFactory.create_batch(2)

    response = signed_in(alice).post(
        "/radars/new/",
        {
            "name": "Mine",
            "examples": f"{kept.key}\narXiv:{dropped.key}v3",
            "authors": "Ada Lovelace",
            "remove_example": dropped.key,
            "add_author": "Jane Doe",
        },
    )

    html = response.content.decode()
    assert textarea(html, "examples") == kept.key
    assert textarea(html, "authors") == "Ada Lovelace\nJane Doe"
    assert not Radar.objects.exists()


def test_picker_buttons_need_the_csrf_token(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    paper = PaperFactory.create()

    for url in ("/radars/new/", "/radars/preview/"):
        response = client.post(url, {"name": "x", "examples": "", "add_example": paper.key})
        assert response.status_code == 403, url
    assert not Radar.objects.exists()


def test_on_the_edit_page_only_the_owner_can_pick(alice: User, bob: User) -> None:
    radar = make_radar(alice, examples=[])
    paper = PaperFactory.create(title="Picked on the edit page")
    data = {
        "name": radar.name,
        "include": radar.include,
        "add_example": paper.key,
    }

    assert signed_in(bob).post(f"/radars/{radar.pk}/edit/", data).status_code == 404
    assert Client().post(f"/radars/{radar.pk}/edit/", data).status_code == 302
    response = signed_in(alice).post(f"/radars/{radar.pk}/edit/", data)

    assert response.status_code == 200
    assert textarea(response.content.decode(), "examples") == paper.key
    radar.refresh_from_db()
    assert radar.examples == []  # picked, not saved yet


def test_a_radar_saved_from_picked_papers_keeps_their_keys(alice: User) -> None:
    papers = PaperFactory.create_batch(3)

    response = signed_in(alice).post(
        "/radars/new/",
        {
            "name": "From papers",
            "examples": "\n".join(f"arXiv:{p.key}v1" for p in papers),
        },
    )

    assert response.status_code == 302
    radar = Radar.objects.get(owner=alice)
    assert radar.examples == [p.key for p in papers]


# --- the live preview follows the picked papers -----------------------------------------------


def test_a_preview_from_three_liked_papers_ranks_a_similar_paper_first(
    alice: User, nature_day: dict[str, str]
) -> None:
    keys = [key_of(title) for title in LIKED]

    response = signed_in(alice).post("/radars/preview/", {"examples": "\n".join(keys)})

    html = response.content.decode()
    titles = [
        text_of(t) for t in re.findall(r'class="preview-item__title tex"[^>]*>(.*?)</a>', html)
    ]
    assert titles[0] == SIMILAR
    assert not any(t.startswith(liked) for t in titles for liked in LIKED)
    # The picked list rides along, out of band, with the three titles.
    oob = html[html.index('id="picked-papers"') :]
    assert 'hx-swap-oob="true"' in oob[:200]
    assert "3 of 3–5 picked: enough to start." in text_of(oob)
    assert all(liked in oob for liked in LIKED)


def test_an_unknown_example_is_named_in_the_picked_list(alice: User) -> None:
    html = signed_in(alice).post("/radars/preview/", {"examples": "2411.99999"}).content.decode()

    assert "Not found: no paper with this id or DOI is in AcademicHub yet" in text_of(html)
    assert 'data-pick-remove="2411.99999"' in html


def test_the_api_preview_of_examples_alone_ranks_papers_like_them_first(
    alice: User, nature_day: dict[str, str]
) -> None:
    _, secret = token_create(user=alice, name="onboarding")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    keys = [key_of(title) for title in LIKED]

    preview = api.post(
        "/api/v1/radars/preview", {"examples": keys, "days": 0}, content_type="application/json"
    )
    created = api.post(
        "/api/v1/radars",
        {"name": "Psychedelics", "examples": [f"doi:{k.upper()}" for k in keys]},
        content_type="application/json",
    )

    assert preview.status_code == 200, preview.content
    ranked = [m["key"] for m in preview.json()["matches"]]
    # The examples themselves are left out (tests/radar/test_examples_left_out.py).
    assert ranked[0] == nature_day[SIMILAR]
    assert not set(keys) & set(ranked)
    assert created.status_code == 201, created.content
    assert created.json()["examples"] == keys


# --- every field explained, in both languages -------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_field_of_the_radar_form_has_help_in_both_languages(language: str) -> None:
    with translation.override(language):
        form = RadarForm()
        helps = {name: str(field.help_text) for name, field in form.fields.items()}
    wanted = (
        "name",
        "description",
        "include",
        "exclude",
        "categories",
        "sources",
        "authors",
        "examples",
        "public",
    )
    assert all(helps[name].strip() for name in wanted), helps
    if language == "zh-hans":
        assert all(re.search(r"[\u4e00-\u9fff]", helps[name]) for name in wanted), helps
    assert (
        "Start from papers you like" in helps["examples"] or "从喜欢的论文开始" in helps["examples"]
    )
    assert ("Start from papers you like" in helps["authors"]) == (language == "en")


def test_the_picker_reads_in_chinese(alice: User, nature_day: dict[str, str]) -> None:
    Profile.objects.update_or_create(user=alice, defaults={"language": "zh-hans"})
    client = signed_in(alice)

    page = text_of(client.get("/radars/new/", {"pick": "2411.99999"}).content.decode())

    assert "从喜欢的论文开始" in page
    assert "还没有：请添加 3–5 篇论文。" in page
    assert "未找到：2411.99999" in page


# --- the picker's parsing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("2411.01234v2, arXiv:2411.05678", ["2411.01234", "2411.05678"]),
        ("https://doi.org/10.1101/ABC.1 doi:10.1038/x", ["10.1101/abc.1", "10.1038/x"]),
        ("hep-th/9901001v1", ["hep-th/9901001"]),
        ("2411.01234 attention", []),
        ("protein folding", []),
    ],
)
def test_pasted_keys_are_found_only_in_a_list_of_nothing_else(text: str, keys: list[str]) -> None:
    assert pasted_keys(text) == keys


def test_examples_with_adds_once_and_removes_any_spelling() -> None:
    text = "2411.01234v2\n10.1101/ABC"

    added = examples_with(text, add=["arXiv:2411.01234", "2411.05678"])
    removed = examples_with(added, remove=["10.1101/abc"])

    assert added == "2411.01234v2\n10.1101/ABC\n2411.05678"
    assert removed == "2411.01234v2\n2411.05678"
