"""The selector walk the existence test relies on: what it reports, and that it fails."""

from __future__ import annotations

import pytest
from promql_selectors import Grouping, Selector, uses


def test_selectors_and_their_matcher_labels() -> None:
    found = uses('sum by (route) (rate(grok2api_gateway_requests_total{job=~".+", '
                 'route=~"/v1/.*", status=~"5.."}[5m])) / sum(rate(up[1m] offset 5m))')
    assert found.selectors == (
        Selector("grok2api_gateway_requests_total", frozenset({"job", "route", "status"})),
        Selector("up", frozenset()),
    )
    assert found.groupings == (
        Grouping(frozenset({"route"}), frozenset({"grok2api_gateway_requests_total"})),)


def test_grouping_after_the_operand_and_inside_histogram_quantile() -> None:
    found = uses("histogram_quantile(0.95, sum(rate(a_bucket{x=\"1\"}[5m])) by (le, model))"
                 " > on (model) group_left b")
    assert [s.metric for s in found.selectors] == ["a_bucket", "b"]
    assert Grouping(frozenset({"le", "model"}), frozenset({"a_bucket"})) in found.groupings
    on = [g for g in found.groupings if g.labels == {"model"}]
    assert on and on[0].metrics == {"a_bucket", "b"}


def test_functions_keywords_numbers_subqueries_are_not_metrics() -> None:
    found = uses("(sum(x{status=\"invalid\"}) or vector(0)) - (sum(x offset 30m) or vector(0))"
                 " >= clamp_min(0.05 * sum(y), 3) and max_over_time(sum(z)[1d:5m]) > 1e3")
    assert found.metrics == {"x", "y", "z"}


def test_a_selector_without_a_name_is_refused() -> None:
    with pytest.raises(ValueError):
        uses('sum(rate({__name__=~"grok2api_.+"}[1m]))')
