"""How ``grok2api egress`` shows egresses and test results: tables, detail, JSON.

Everything here works on the pool client's views (``grok2api_poolclient.egresses``), which
carry proxies masked and clearances without cookies: nothing shown can leak a secret.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from grok2api_poolclient.egresses import ClearanceInfo, Egress, EgressState, EgressTest
from rich.table import Table

STATE_STYLE = {
    EgressState.HEALTHY: "green",
    EgressState.NO_CLEARANCE: "yellow",
    EgressState.COOLING: "yellow",
    EgressState.UNREACHABLE: "red",
    EgressState.DISABLED: "dim",
}


def when(at: float | None) -> str:
    if not at:
        return "—"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def clearance_text(clearance: ClearanceInfo | None, *, now: float | None = None) -> str:
    """``solver, expires in 25 min`` / ``manual, expired`` / ``none``."""
    if clearance is None:
        return "none"
    now = time.time() if now is None else now
    if clearance.expires_at is None:
        return clearance.source
    left = clearance.expires_at - now
    if left <= 0:
        return f"{clearance.source}, expired"
    return f"{clearance.source}, expires in {_duration(left)}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{int(seconds)} s"
    if seconds < 90 * 60:
        return f"{int(seconds // 60)} min"
    return f"{seconds / 3600:.1f} h"


def table(egresses: Sequence[Egress]) -> Table:
    shown = Table(title=f"{len(egresses)} egresses")
    for column in ("name", "proxy", "state", "tags", "accounts", "in flight", "clearance",
                   "challenges", "latency", "last error"):  # fmt: skip
        shown.add_column(column)
    for e in egresses:
        name = e.name + (" (settings)" if e.from_settings else "")
        cap = f"/{e.max_inflight}" if e.max_inflight else ""
        latency = f"{e.latency_ms:.0f} ms" if e.latency_ms else "—"
        style = STATE_STYLE.get(e.state, "")
        shown.add_row(
            name, e.proxy_masked or "direct", f"[{style}]{e.state}[/]" if style else str(e.state),
            ",".join(e.tags), str(e.bound_accounts), f"{e.inflight}{cap}",
            clearance_text(e.clearance), f"{e.challenges} ({e.challenge_rate:.0%})", latency,
            e.last_error,
        )  # fmt: skip
    return shown


def detail(e: Egress) -> list[tuple[str, str]]:
    """Label and value lines of ``egress show``."""
    c = e.clearance
    return [
        ("id", e.id), ("name", e.name), ("state", str(e.state)),
        ("enabled", "yes" if e.enabled else "no"),
        ("proxy", e.proxy_masked or "direct"), ("asset proxy", e.asset_proxy_masked or "—"),
        ("tags", ",".join(e.tags) or "—"),
        ("max in flight", str(e.max_inflight) if e.max_inflight else "no cap"),
        ("browser", e.browser or "(security.browser)"),
        ("user agent", e.user_agent or "(security.user_agent)"),
        ("clearance", clearance_text(c)),
        ("clearance user agent", c.user_agent if c is not None else "—"),
        ("clearance obtained", when(c.obtained_at) if c is not None else "—"),
        ("accounts bound", str(e.bound_accounts)), ("in flight", str(e.inflight)),
        ("calls", str(e.calls)), ("challenges", f"{e.challenges} ({e.challenge_rate:.0%})"),
        ("latency", f"{e.latency_ms:.0f} ms" if e.latency_ms else "—"),
        ("last error", e.last_error or "—"),
        ("from settings", "yes (network.*_proxy_url, security.cf_clearance)"
         if e.from_settings else "no"),
        ("created", when(e.created_at)), ("updated", when(e.updated_at)),
    ]  # fmt: skip


def egress_json(e: Egress) -> dict[str, Any]:
    row = dataclasses.asdict(e)
    row["state"] = e.state.value
    row["tags"] = list(e.tags)
    return row


def test_json(result: EgressTest) -> dict[str, Any]:
    return dataclasses.asdict(result)


def test_line(result: EgressTest) -> str:
    """``ok  tokyo  200  132 ms`` or ``FAILED  tokyo  the proxy refused the connection``."""
    if result.ok:
        return f"ok      {result.name}  {result.status}  {result.latency_ms:.0f} ms"
    status = f"  {result.status}" if result.status else ""
    challenged = "  challenged" if result.challenged else ""
    return f"FAILED  {result.name}{status}{challenged}  {result.message}"
