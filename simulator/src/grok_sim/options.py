"""Runtime options of one simulator instance."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class SimOptions:
    """Knobs that shape answers; the control API may replace them at runtime."""

    seed: int = 0
    """Mixed into every deterministic answer (reply text, ids, media variants)."""

    time_scale: float = 1.0
    """Simulated seconds per real second: 3600 makes a 7200 s quota window last 2 s."""

    token_delay_ms: float = 0.0
    """Delay between streamed frames; 0 is the zero-latency mode (one write per answer)."""

    tokens_per_reply: int = 12
    """Number of words in a default (unscripted) reply."""

    record_limit: int = 1000
    """How many recent requests the recorder keeps."""

    clearance_required: bool = False
    """Cloudflare's front on every upstream endpoint: a request without a valid `cf_clearance`
    for its client address and User-Agent gets the 403 challenge page. Off by default; the
    home page `/` challenges visitors without clearance either way (where solvers go)."""

    clearance_ttl_seconds: float = 1800.0
    """Simulated seconds an issued `cf_clearance` stays valid (under `time_scale`)."""

    def scaled(self, simulated_seconds: float) -> float:
        """Real seconds that `simulated_seconds` of upstream time last under the time scale."""
        return simulated_seconds / self.time_scale if self.time_scale > 0 else simulated_seconds
