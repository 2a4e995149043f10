"""An egress's health as this replica sees it, from the outcomes of the calls through it.

* a challenge (Cloudflare) asks for a fresh clearance; ``challenge_limit`` challenges within
  ``challenge_window_seconds`` of the last refresh mean the fresh clearance does not help
  (the address is flagged): the egress cools for ``challenge_cooldown_seconds``;
* ``unreachable_threshold`` transient failures in a row (the proxy is down, or refuses)
  make it unreachable for the same cooldown; any success resets the run;
* a cooled or unreachable egress serves no account: its accounts move (``binding``), and it
  is tried again once the cooldown has passed.

Each replica keeps its own view; a move made by one is seen by all through the hot state,
and a binding never moves back while its egress is healthy, so views need not agree.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import deque

from grok2api_poolclient.leases import Outcome
from grok2api_settings.sections import EgressSettings

LATENCY_SAMPLES = 50


class State(enum.StrEnum):
    HEALTHY = "healthy"
    COOLING = "cooling"
    UNREACHABLE = "unreachable"
    DISABLED = "disabled"
    NO_CLEARANCE = "no_clearance"


@dataclasses.dataclass
class Health:
    cooling_until: float = 0.0
    unreachable_until: float = 0.0
    failures_in_a_row: int = 0
    refreshed_at: float = 0.0
    challenges_since_refresh: deque[float] = dataclasses.field(default_factory=deque)
    calls: int = 0
    challenges: int = 0
    last_error: str = ""
    latencies_ms: deque[float] = dataclasses.field(
        default_factory=lambda: deque(maxlen=LATENCY_SAMPLES)
    )

    def usable(self, now: float) -> bool:
        return self.cooling_until <= now and self.unreachable_until <= now

    def state(self, now: float) -> State:
        if self.cooling_until > now:
            return State.COOLING
        if self.unreachable_until > now:
            return State.UNREACHABLE
        return State.HEALTHY

    @property
    def challenge_rate(self) -> float:
        return self.challenges / self.calls if self.calls else 0.0

    def record(self, outcome: Outcome, *, now: float, policy: EgressSettings) -> bool:
        """Count one call's outcome; True when the egress just stopped being usable."""
        if outcome is Outcome.CANCELLED:
            return False
        was_usable = self.usable(now)
        self.calls += 1
        if outcome is Outcome.TRANSIENT:
            self.failures_in_a_row += 1
            if self.failures_in_a_row >= policy.unreachable_threshold:
                self.unreachable_until = now + policy.challenge_cooldown_seconds
                self.failures_in_a_row = 0
                self.last_error = "network failures in a row"
        else:
            self.failures_in_a_row = 0
        if outcome is Outcome.CHALLENGE:
            self.challenges += 1
            self.last_error = "challenged"
            recent = self.challenges_since_refresh
            recent.append(now)
            while recent and recent[0] < now - policy.challenge_window_seconds:
                recent.popleft()
            # challenged soon after a clearance was obtained: a new one would not help
            fresh = self.refreshed_at and now - self.refreshed_at <= policy.challenge_window_seconds
            if fresh and len(recent) >= policy.challenge_limit:
                self.cooling_until = now + policy.challenge_cooldown_seconds
                recent.clear()
                self.last_error = "challenged repeatedly after a fresh clearance"
        return was_usable and not self.usable(now)

    def refreshed(self, now: float) -> None:
        self.refreshed_at = now
        self.challenges_since_refresh.clear()

    def clearance_seen(self, obtained_at: float) -> None:
        """A clearance obtained at ``obtained_at`` (here, by another replica, or pasted):
        challenges count from then on."""
        if obtained_at > self.refreshed_at:
            self.refreshed(obtained_at)

    def latency(self, milliseconds: float) -> None:
        self.latencies_ms.append(milliseconds)

    @property
    def recent_latency_ms(self) -> float:
        samples = sorted(self.latencies_ms)
        return samples[len(samples) // 2] if samples else 0.0
