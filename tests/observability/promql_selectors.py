"""The metric names and label names a PromQL expression depends on.

A small lexer and a bracket-aware walk, enough for the expressions of the dashboard and the
alert rules (the grammar Prometheus 2.42 accepts; `promtool check rules` checks the full
syntax separately). It records, per expression:

- every vector selector's metric name and the label names of its matchers;
- every grouping clause (`by`, `without`, `on`, `ignoring`, `group_left/right`) with the
  metric names inside the aggregation or binary operation it applies to.

Selectors without a metric name (`{__name__=~"…"}`) are refused: a name must be explicit
for a rename to be caught.
"""

from __future__ import annotations

import dataclasses
import re

KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan", "atan2"}
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                "count_values", "bottomk", "topk", "quantile"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<duration>\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|0x[0-9a-fA-F]+)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],:@])
""", re.VERBOSE)


@dataclasses.dataclass(frozen=True)
class Selector:
    metric: str
    labels: frozenset[str]


@dataclasses.dataclass(frozen=True)
class Grouping:
    labels: frozenset[str]
    metrics: frozenset[str]  # the metrics of the operand(s) the clause groups


@dataclasses.dataclass(frozen=True)
class Uses:
    selectors: tuple[Selector, ...]
    groupings: tuple[Grouping, ...]

    @property
    def metrics(self) -> set[str]:
        return {selector.metric for selector in self.selectors}


def tokens(expr: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        match = TOKEN.match(expr, pos)
        if match is None:
            raise ValueError(f"cannot read {expr[pos:pos + 20]!r} in {expr!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind != "space":
            out.append((kind, match.group()))
    return out


def _closing(toks: list[tuple[str, str]], start: int) -> int:
    """Index of the bracket closing the one at ``start``."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    opening = toks[start][1]
    depth = 0
    for index in range(start, len(toks)):
        value = toks[index][1]
        if toks[index][0] != "op":
            continue
        if value == opening:
            depth += 1
        elif value == pairs[opening]:
            depth -= 1
            if depth == 0:
                return index
    raise ValueError(f"unbalanced {opening!r}")


def _matchers(toks: list[tuple[str, str]], start: int, end: int) -> set[str]:
    """Label names of the matchers between ``{`` at ``start`` and ``}`` at ``end``."""
    labels: set[str] = set()
    index = start + 1
    while index < end:
        kind, value = toks[index]
        if kind == "ident":
            op, literal = toks[index + 1], toks[index + 2]
            if op[1] not in ("=", "!=", "=~", "!~") or literal[0] != "string":
                raise ValueError(f"unexpected matcher near {value!r}")
            labels.add(value)
            index += 3
        elif value == ",":
            index += 1
        else:
            raise ValueError(f"unexpected {value!r} in a selector")
    return labels


def _selectors(toks: list[tuple[str, str]], start: int, end: int) -> list[Selector]:
    found: list[Selector] = []
    index = start
    while index < end:
        kind, value = toks[index]
        following = toks[index + 1][1] if index + 1 < len(toks) else ""
        if kind == "ident" and value in GROUPING:
            # by (a, b): label names, not metrics
            index = _closing(toks, index + 1) + 1 if following == "(" else index + 1
            continue
        if kind == "ident" and value == "offset":
            index += 2
            continue
        if kind == "ident" and value not in KEYWORDS and (
                following == "(" or (value in AGGREGATIONS and following in GROUPING)):
            index += 1  # a function or aggregation name
            continue
        if kind == "ident" and value.lower() not in KEYWORDS:
            labels: set[str] = set()
            if following == "{":
                close = _closing(toks, index + 1)
                labels = _matchers(toks, index + 1, close)
                index = close
            found.append(Selector(value, frozenset(labels)))
            index += 1
            continue
        if kind == "op" and value == "{":
            raise ValueError("a selector without a metric name")
        if kind == "op" and value == "[":
            index = _closing(toks, index) + 1  # a range or a subquery's range
            continue
        index += 1
    return found


def _operand(toks: list[tuple[str, str]], index: int, step: int) -> tuple[int, int]:
    """The token span of the parenthesised (or single) operand next to ``index``."""
    if step > 0:
        if toks[index][1] == "(":
            return index, _closing(toks, index) + 1
        end = index + 1
        while end < len(toks) and toks[end][1] in ("(", "{"):
            end = _closing(toks, end) + 1
        return index, end
    # backwards: the operand ending at index
    if toks[index][1] in (")", "}", "]"):
        depth = 0
        for start in range(index, -1, -1):
            value = toks[start][1]
            if value in (")", "}", "]"):
                depth += 1
            elif value in ("(", "{", "["):
                depth -= 1
                if depth == 0:
                    while start > 0 and toks[start - 1][0] == "ident":
                        start -= 1
                    return start, index + 1
    return index, index + 1


def uses(expr: str) -> Uses:
    toks = tokens(expr)
    selectors = _selectors(toks, 0, len(toks))
    groupings: list[Grouping] = []
    for index, (kind, value) in enumerate(toks):
        if kind != "ident" or value not in GROUPING:
            continue
        if index + 1 >= len(toks) or toks[index + 1][1] != "(":
            continue  # group_left without labels
        close = _closing(toks, index + 1)
        labels = {v for k, v in toks[index + 2:close] if k == "ident"}
        spans: list[tuple[int, int]] = []
        if value in ("by", "without"):
            if index > 0 and toks[index - 1][1] == ")":
                spans.append(_operand(toks, index - 1, -1))  # sum (x) by (l)
            else:
                spans.append(_operand(toks, close + 1, +1))  # sum by (l) (x)
        else:
            # on/ignoring/group_*: the binary operation's two sides
            left = index - 1
            while left >= 0 and toks[left][0] in ("op", "ident") and toks[left][1] in (
                    "*", "/", "+", "-", "%", "^", "==", "!=", "<", ">", "<=", ">=", "and",
                    "or", "unless", "bool", "on", "ignoring", "group_left", "group_right"):
                left -= 1
            spans.append(_operand(toks, left, -1))
            right = close + 1
            while right < len(toks) and toks[right][1] in GROUPING:
                right = _closing(toks, right + 1) + 1 if toks[right + 1][1] == "(" else right + 1
            spans.append(_operand(toks, right, +1))
        metrics = {s.metric for start, end in spans for s in _selectors(toks, start, end)}
        groupings.append(Grouping(frozenset(labels), frozenset(metrics)))
    return Uses(tuple(selectors), tuple(groupings))
