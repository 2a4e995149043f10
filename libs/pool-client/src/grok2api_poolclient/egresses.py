"""Value objects of egress management: egresses as listed, test results, clearance refreshes.

(``egress`` converts a lease's route for ``grok_web``; this module is what the CLI, the
admin API and the operator see.) Proxy addresses appear only masked (``scheme://host:port``,
credentials never), clearance cookies never: a listing says where a clearance came from,
with which user agent, and until when.
"""

from __future__ import annotations

import dataclasses
import enum


class EgressState(enum.StrEnum):
    HEALTHY = "healthy"
    COOLING = "cooling"
    """Challenged repeatedly right after a fresh clearance: left unused for a while."""
    UNREACHABLE = "unreachable"
    """Network failures in a row through it (the proxy is down or refuses)."""
    DISABLED = "disabled"
    NO_CLEARANCE = "no_clearance"
    """Usable, but without a clearance yet (none pasted, the solver has not run)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClearanceInfo:
    source: str
    """``manual`` (pasted), ``solver`` (FlareSolverr) or ``settings`` (security.cf_clearance)."""
    user_agent: str
    obtained_at: float
    """Unix seconds; 0 when unknown (a clearance from the settings)."""
    expires_at: float | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Egress:
    id: str
    name: str
    proxy_masked: str
    """``scheme://host:port`` of the proxy, "" for direct; credentials never shown."""
    asset_proxy_masked: str
    tags: tuple[str, ...]
    enabled: bool
    max_inflight: int
    """Concurrent upstream calls through it; 0 = no cap."""
    browser: str
    user_agent: str
    clearance: ClearanceInfo | None
    state: EgressState
    bound_accounts: int
    inflight: int
    calls: int
    """Leases released through it since the answering replica started."""
    challenges: int
    challenge_rate: float
    latency_ms: float
    """Median of its recent test round trips (``test_egresses``) as seen by the answering
    replica; 0 when none yet."""
    last_error: str
    from_settings: bool
    """The one-egress pool built from ``network.*_proxy_url`` / ``security.cf_clearance``
    (read-only: change the settings, or add egresses, which replace it)."""
    created_at: float
    updated_at: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class EgressTest:
    """One egress tested: the upstream's home page fetched through it with its clearance,
    user agent and fingerprint. ``finished`` marks the summary that ends a run
    (``egress_id`` "", ``ok`` = every test passed, ``done``/``total`` counts)."""

    egress_id: str
    name: str
    ok: bool
    status: int = 0
    """The upstream's HTTP status; 0 when the request failed before an answer."""
    challenged: bool = False
    latency_ms: float = 0.0
    message: str = ""
    """What went wrong and what to do; never an address or a credential."""
    done: int = 0
    total: int = 0
    finished: bool = False


class RefreshResult(enum.StrEnum):
    REFRESHED = "refreshed"
    FRESH = "fresh"
    """Obtained moments ago (by another replica, or a refresh just before): kept."""
    FAILED = "failed"
    NO_SOLVER = "no_solver"
    """``egress.solver_url`` is not set: paste a clearance instead."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClearanceRefresh:
    egress_id: str
    result: RefreshResult
    message: str = ""
