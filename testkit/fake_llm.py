"""An OpenAI-compatible chat-completions server on loopback, scripted per test.

It speaks the real protocol (POST /v1/chat/completions, JSON bodies, `usage`, 429 with
Retry-After), so the real `openai` client talks to it exactly as to a provider. Each request
is recorded (headers and JSON body). Answers come from a queue of scripted replies, then
from `default` (a valid card for the paper in the request).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Longest a scripted hang may hold a request: every loop here is bounded.
MAX_HANG = 30.0


@dataclass
class Reply:
    """One scripted answer: status, headers, body, and a delay before sending it."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def valid_card(title: str = "Sparse attention for long documents") -> dict[str, Any]:
    """A card that passes validation, TeX included."""
    return {
        "title_zh": "用于长文档的稀疏注意力",
        "en": {
            "tldr": f"The paper behind '{title[:60]}' proposes a sparse attention method that "
            "summarises long documents with far less memory.",
            "motivation": "Full attention grows as $O(n^2)$ with the length of the input, "
            "which makes long documents expensive to summarise.",
            "method": "The authors keep a small set of global tokens and attend locally "
            "within fixed windows of the text.",
            "result": "On two benchmarks the method matches full attention while using a "
            "third of the memory.",
            "conclusion": "Sparse attention is a practical default for summarising long "
            "scientific documents.",
        },
        "zh": {
            "tldr": "本文提出一种稀疏注意力方法，可以用更少的内存为长文档生成摘要。",
            "motivation": "完整注意力的计算量随输入长度按 $O(n^2)$ 增长，长文档摘要因此代价很高。",
            "method": "作者保留少量全局词元，并在固定窗口内进行局部注意力计算。",
            "result": "在两个基准数据集上，该方法与完整注意力效果相当，内存只用三分之一。",
            "conclusion": "稀疏注意力是长篇科学文献摘要的实用默认选择。",
        },
        "keywords": ["sparse attention", "summarization", "long documents"],
    }


def completion(
    content: str | None,
    *,
    refusal: str | None = None,
    finish_reason: str = "stop",
    prompt_tokens: int = 600,
    completion_tokens: int = 300,
    model: str = "fake-model",
) -> bytes:
    """A chat.completion JSON body."""
    return json.dumps(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": refusal},
                    "finish_reason": finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    ).encode()


def card_reply(card: dict[str, Any] | None = None, **usage: Any) -> Reply:
    """200 with a card as the message content."""
    return Reply(body=completion(json.dumps(card or valid_card(), ensure_ascii=False), **usage))


def text_reply(text: str, **kwargs: Any) -> Reply:
    """200 with `text` as the message content (for non-JSON, truncated JSON…)."""
    return Reply(body=completion(text, **kwargs))


def error_reply(
    status: int, message: str = "error", headers: dict[str, str] | None = None
) -> Reply:
    """An OpenAI-style error body with `status`."""
    body = json.dumps({"error": {"message": message, "type": "server_error", "code": None}})
    return Reply(status=status, body=body.encode(), headers=headers or {})


@dataclass
class Captured:
    """A request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: str

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def paper(self) -> dict[str, Any]:
        """The paper_data JSON in the user message."""
        user = next(m["content"] for m in self.messages if m["role"] == "user")
        block = user.split("<paper_data>", 1)[1].split("</paper_data>", 1)[0]
        return dict(json.loads(block))


class FakeLLM:
    """The server: `script(...)` queues replies; `requests` lists what arrived."""

    def __init__(self) -> None:
        self.requests: list[Captured] = []
        self.queue: deque[Reply] = deque()
        self.default: Callable[[Captured], Reply] = self._default
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.usage = {"prompt_tokens": 600, "completion_tokens": 300}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as two writes: without this, Nagle's algorithm and
                # the client's delayed ACK add ~40 ms to every answer.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                captured = Captured(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw or "{}"),
                    raw=raw,
                )
                reply = fake._next(captured)
                if reply.delay:
                    fake.stopping.wait(min(reply.delay, MAX_HANG))
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply.body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> FakeLLM:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these, in order."""
        with self.lock:
            self.queue.extend(replies)

    def _next(self, captured: Captured) -> Reply:
        with self.lock:
            self.requests.append(captured)
            if self.queue:
                return self.queue.popleft()
        return self.default(captured)

    def _default(self, captured: Captured) -> Reply:
        try:
            title = str(captured.paper.get("title", ""))
        except (StopIteration, IndexError, ValueError):
            title = ""
        return card_reply(valid_card(title), **self.usage)

    @property
    def card_requests(self) -> list[Captured]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]
