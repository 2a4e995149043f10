"""Microbenchmark: NDJSON body → typed chat events (grok_web.ndjson + grok_web.frames).

Builds a realistic synthetic app-chat stream (conversation frame, reasoning tokens,
a tool card, search results, answer tokens, a citation card, the modelResponse
envelope, soft stop), splits it into network-sized chunks and measures how many
events per second the decoder + parser produce. Usage:

    uv run python scripts/bench_ndjson.py [--tokens 2000] [--rounds 20] [--chunk 1400]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

import orjson
from grok_web import frames, ndjson


def synthetic_stream(*, tokens: int, seed: int = 7) -> bytes:
    """One turn with ``tokens`` answer tokens and tokens // 4 reasoning tokens."""
    rng = random.Random(seed)
    words = ["the", "model", "answers", "quickly", "with", "tokens", "and", "some", "text,", "."]
    lines: list[dict[str, Any]] = [
        {"result": {"conversation": {"conversationId": "c-bench", "title": "Bench"}}},
        {"result": {"response": {"userResponse": {"responseId": "r-user", "message": "q"}}}},
    ]
    for _ in range(tokens // 4):
        lines.append(
            {
                "result": {
                    "response": {
                        "token": " " + rng.choice(words),
                        "isThinking": True,
                        "messageTag": "header",
                        "rolloutId": "Grok",
                        "messageStepId": 1,
                        "responseId": "r-1",
                    }
                }
            }
        )
    lines.append(
        {
            "result": {
                "response": {
                    "messageTag": "tool_usage_card",
                    "toolUsageCard": {
                        "toolUsageCardId": "t-1",
                        "webSearch": {"args": {"query": "benchmark"}},
                    },
                    "isThinking": True,
                    "responseId": "r-1",
                }
            }
        }
    )
    lines.append(
        {
            "result": {
                "response": {
                    "webSearchResults": {
                        "results": [
                            {"url": f"https://e.com/{i}", "title": f"T{i}", "preview": "p"}
                            for i in range(5)
                        ]
                    },
                    "responseId": "r-1",
                }
            }
        }
    )
    answer: list[str] = []
    for i in range(tokens):
        token = " " + rng.choice(words)
        answer.append(token)
        lines.append(
            {
                "result": {
                    "response": {
                        "token": token,
                        "isThinking": False,
                        "messageTag": "final",
                        "messageStepId": 2,
                        "responseId": "r-1",
                    }
                }
            }
        )
        if i == tokens // 2:
            card = {"id": "k1", "type": "render_inline_citation", "url": "https://e.com/1"}
            attachment = {"jsonData": orjson.dumps(card).decode()}
            lines.append({"result": {"response": {"cardAttachment": attachment}}})
    lines.append(
        {
            "result": {
                "response": {
                    "modelResponse": {
                        "responseId": "r-1",
                        "message": "".join(answer),
                        "generatedImageUrls": [],
                        "fileAttachments": [],
                        "parentResponseId": "r-user",
                    }
                }
            }
        }
    )
    lines.append({"result": {"response": {"isSoftStop": True}}})
    return b"\n".join(orjson.dumps(line) for line in lines) + b"\n"


def parse_once(chunks: list[bytes]) -> int:
    decoder = ndjson.LineDecoder()
    parser = frames.ChatStreamParser()
    handle = parser.handle
    out: list[Any] = []
    count = 0
    for chunk in chunks:
        for frame in decoder.feed(chunk):
            handle(frame, out)
        count += len(out)
        out.clear()
    parser.finish()
    return count + 1


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--tokens", type=int, default=10000)
    args.add_argument("--rounds", type=int, default=40)
    args.add_argument("--chunk", type=int, default=1400, help="bytes per network chunk")
    opts = args.parse_args()
    body = synthetic_stream(tokens=opts.tokens)
    chunks = [body[i : i + opts.chunk] for i in range(0, len(body), opts.chunk)]
    parse_once(chunks)
    # CPU time of this process: the machine is shared, wall time mostly measures others.
    rates: list[float] = []
    wall_rates: list[float] = []
    events = 0
    for _ in range(opts.rounds):
        cpu, wall = time.process_time(), time.perf_counter()
        events = parse_once(chunks)
        rates.append(events / max(time.process_time() - cpu, 1e-9))
        wall_rates.append(events / (time.perf_counter() - wall))
    lines = body.count(b"\n")
    median = statistics.median(rates)
    print(f"stream: {len(body)} bytes, {lines} lines, {len(chunks)} chunks, {events} events")
    print(
        f"events/s (CPU time): median {median:,.0f}  best {max(rates):,.0f}  "
        f"worst {min(rates):,.0f}  ({opts.rounds} rounds)"
    )
    print(f"events/s (wall): median {statistics.median(wall_rates):,.0f}")
    print(f"MB/s (CPU time, median): {len(body) * median / events / 1e6:,.1f}")


if __name__ == "__main__":
    main()
