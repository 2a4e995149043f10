"""Cloudflare clearance as grok.com's front keeps it (grok-protocol.md §2.5).

A visitor without a valid `cf_clearance` gets the 403 "Just a moment..." page; solving its
challenge (what a browser, or FlareSolverr driving one, does) sets a `cf_clearance` cookie
that is valid only from the same client address with the same User-Agent, until it expires.
The simulator sees the client address as the TCP peer, so a request through a proxy counts
as coming from the proxy's exit address.

On demand, the control API challenges the next N requests from an address (which also
revokes that address's clearances, as when Cloudflare decides to re-check a visitor) or
revokes clearances outright.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from dataclasses import dataclass
from typing import Any

ANSWER_PATH = "/cdn-cgi/challenge-platform/h/g/flow/ov1/"
"""Where the challenge page's script posts its answer: ANSWER_PATH + ray id."""


def expected_answer(ray: str) -> str:
    """What the challenge script computes for a ray id (a browser runs it; so does the solver)."""
    return hashlib.sha256(f"grok-sim-challenge:{ray}".encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Clearance:
    """One issued `cf_clearance`: bound to an address and a User-Agent, with an expiry."""

    address: str
    user_agent: str
    expires_at: float


@dataclass(kw_only=True)
class ChallengeRule:
    """Challenge the next `remaining` requests from `address`."""

    address: str
    remaining: int


class ClearanceBook:
    """Issued clearances, pending challenges (ray ids) and on-demand challenge rules."""

    def __init__(self) -> None:
        self._clearances: dict[str, Clearance] = {}
        self._rays: dict[str, str] = {}
        self._rules: list[ChallengeRule] = []
        self.issued: Counter[str] = Counter()
        self.challenged: Counter[str] = Counter()

    def clear(self) -> None:
        self._clearances.clear()
        self._rays.clear()
        self._rules.clear()
        self.issued.clear()
        self.challenged.clear()

    def new_ray(self, *, address: str) -> str:
        """A fresh challenge for `address`; its answer is accepted once, from that address."""
        ray = secrets.token_hex(8)
        self._rays[ray] = address
        self.challenged[address] += 1
        return ray

    def solve(
        self, *, ray: str, answer: str, address: str, user_agent: str, now: float, ttl: float
    ) -> str | None:
        """The new `cf_clearance` value, or None when the ray is unknown, used, from another
        address, or the answer is wrong."""
        if self._rays.get(ray) != address or not secrets.compare_digest(
            answer, expected_answer(ray)
        ):
            return None
        del self._rays[ray]
        value = secrets.token_urlsafe(32)
        self._clearances[value] = Clearance(address=address, user_agent=user_agent,
                                            expires_at=now + ttl)
        self.issued[address] += 1
        return value

    def is_valid(self, value: str | None, *, address: str, user_agent: str, now: float) -> bool:
        if not value:
            return False
        found = self._clearances.get(value)
        if found is None:
            return False
        if found.expires_at <= now:
            del self._clearances[value]
            return False
        return found.address == address and found.user_agent == user_agent

    def revoke(self, *, address: str | None = None) -> int:
        """Forget the clearances of `address` (all when None); how many were dropped."""
        dropped = [k for k, c in self._clearances.items() if address in (None, c.address)]
        for key in dropped:
            del self._clearances[key]
        return len(dropped)

    def challenge(self, *, address: str, times: int) -> None:
        """Challenge the next `times` requests from `address`; its clearances stop counting."""
        self.revoke(address=address)
        self._rules = [r for r in self._rules if r.address != address]
        if times > 0:
            self._rules.append(ChallengeRule(address=address, remaining=times))

    def take_challenge(self, *, address: str) -> bool:
        """Whether an on-demand rule challenges this request (using one of its requests)."""
        for rule in self._rules:
            if rule.address == address:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
                return True
        return False

    def describe(self, *, now: float) -> dict[str, Any]:
        """Counts only: clearance values are never shown."""
        active: Counter[str] = Counter(
            c.address for c in self._clearances.values() if c.expires_at > now
        )
        return {
            "issued": dict(self.issued),
            "challenged": dict(self.challenged),
            "active": dict(active),
            "pendingChallenges": {r.address: r.remaining for r in self._rules},
        }
