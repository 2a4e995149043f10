"""Rewrite the settings reference in README.md from the settings model.

`--check` exits non-zero when the README differs (the test suite runs the same check)."""

from __future__ import annotations

import sys
from pathlib import Path

from grok2api_settings import rendering

README = Path(__file__).resolve().parents[1] / "README.md"
START = "<!-- settings-reference:start -->"
END = "<!-- settings-reference:end -->"


def render(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{rendering.reference_table()}\n{END}{tail}"


def main() -> int:
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"{README}: markers {START} / {END} missing", file=sys.stderr)
        return 2
    fresh = render(text)
    if "--check" in sys.argv:
        if fresh != text:
            print("README settings reference is stale: run `make readme`", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
