"""Steady load with the official openai SDK, every request's start, end and outcome kept."""

from __future__ import annotations

import dataclasses
import threading
import time

import openai

USER = [{"role": "user", "content": "hello cluster"}]


@dataclasses.dataclass(frozen=True)
class Outcome:
    started: float
    ended: float
    kind: str  # "ok", "connection" (the connection broke), or "status:<code>"
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


class ChatLoad:
    """``threads`` clients, each sending chats one after another (every other one streamed)
    until stopped. ``max_retries`` is the SDK's (0: every failure is seen)."""

    DEFAULT_THREADS = 6

    def __init__(
        self, base_url: str, *, threads: int = DEFAULT_THREADS, max_retries: int = 0
    ) -> None:
        self.client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="cluster-load",
                                    max_retries=max_retries, timeout=60)  # fmt: skip
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def __enter__(self) -> ChatLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> list[Outcome]:
        self._stop.set()
        for thread in self._threads:
            thread.join(90)
        return self.outcomes

    def _run(self, n: int) -> None:
        stream = bool(n % 2)
        while not self._stop.is_set():
            started = time.time()
            kind, detail = self._one(stream)
            self.outcomes.append(Outcome(started, time.time(), kind, detail))
            stream = not stream

    def _one(self, stream: bool) -> tuple[str, str]:
        try:
            if stream:
                chunks = list(self.client.chat.completions.create(
                    model="grok-4", messages=USER, stream=True))  # fmt: skip
                finished = [c for c in chunks if c.choices and c.choices[0].finish_reason]
                if not finished:
                    return "incomplete", f"{len(chunks)} chunks, no finish_reason"
            else:
                reply = self.client.chat.completions.create(model="grok-4", messages=USER)
                if not reply.choices[0].message.content:
                    return "empty", ""
        except openai.APIConnectionError as exc:
            return "connection", type(exc).__name__
        except openai.APIStatusError as exc:
            return f"status:{exc.status_code}", _error_shape(exc)
        return "ok", ""

    def wait_for(self, count: int, timeout: float = 60) -> None:
        """Until ``count`` more requests have ended."""
        goal = len(self.outcomes) + count
        deadline = time.monotonic() + timeout
        while len(self.outcomes) < goal and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.outcomes) >= goal, f"the load stalled at {len(self.outcomes)}/{goal}"


def _error_shape(exc: openai.APIStatusError) -> str:
    """The error's message when the body is an OpenAI error object, else what it was."""
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str) and body.get("type"):
        return str(body["message"])[:200]
    return f"NOT AN OPENAI ERROR OBJECT: {exc.response.text[:200]!r}"
