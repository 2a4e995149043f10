"""Rewrite the generated parts of README.md: the settings reference (from the settings
model) and the model table (from the model catalogue).

`--check` exits non-zero when the README differs (the test suite runs the same check)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from grok2api_settings import rendering
from grok_web import catalogue

README = Path(__file__).resolve().parents[1] / "README.md"


def models_table() -> str:
    rows = [
        "| Model | Kind | Upstream mode | Minimum tier | Cost | Reasoning |",
        "| :--- | :--- | :--- | :--- | :---: | :---: |",
    ]
    for spec in catalogue.all_models():
        reasoning = "yes" if spec.capabilities.reasoning else "-"
        rows.append(
            f"| `{spec.id}` | {spec.kind} | `{spec.mode}` | {spec.min_tier} | {spec.cost} "
            f"| {reasoning} |"
        )
    return "\n".join(rows)


SECTIONS: dict[str, Callable[[], str]] = {
    "settings-reference": rendering.reference_table,
    "models": models_table,
}


def render(text: str) -> str:
    for name, build in SECTIONS.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if start not in text or end not in text:
            raise SystemExit(f"{README}: markers {start} / {end} missing")
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        text = f"{head}{start}\n{build()}\n{end}{tail}"
    return text


def main() -> int:
    text = README.read_text(encoding="utf-8")
    fresh = render(text)
    if "--check" in sys.argv:
        if fresh != text:
            print("README's generated tables are stale: run `make readme`", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
