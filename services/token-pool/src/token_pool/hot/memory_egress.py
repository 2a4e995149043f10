"""The in-process hot state's egress counts: accounts bound to each egress, leases in
flight through it, and its cap (semantics: ``base``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from . import base


class EgressCounts:
    def __init__(self) -> None:
        self._caps: dict[str, int] = {}
        self._inflight: dict[str, int] = {}
        self._bound: dict[str, int] = {}

    def full(self, egress: str) -> bool:
        """Whether an account bound to ``egress`` may take no lease now."""
        if not egress:
            return False
        if egress == base.NO_EGRESS:
            return True
        cap = self._caps.get(egress, 0)
        return cap > 0 and self._inflight.get(egress, 0) >= cap

    def lease(self, egress: str, delta: int) -> None:
        """A lease through ``egress`` began (+1) or ended (-1)."""
        if egress:
            self._inflight[egress] = max(0, self._inflight.get(egress, 0) + delta)

    def bind(self, egress: str, delta: int) -> None:
        """An account was bound to ``egress`` (+1) or left it (-1)."""
        if egress and egress != base.NO_EGRESS:
            self._bound[egress] = max(0, self._bound.get(egress, 0) + delta)

    def least_bound(self, candidates: Sequence[str]) -> str:
        return min(candidates, key=lambda e: self._bound.get(e, 0), default=base.NO_EGRESS)

    def set_caps(self, caps: Mapping[str, int]) -> None:
        self._caps = dict(caps)
        for counts in (self._bound, self._inflight):
            for egress in [e for e, n in counts.items() if e not in caps and n == 0]:
                del counts[egress]

    def loads(self) -> dict[str, base.EgressLoad]:
        known = set(self._caps) | set(self._bound) | set(self._inflight)
        return {
            e: base.EgressLoad(bound=self._bound.get(e, 0), inflight=self._inflight.get(e, 0))
            for e in known
        }
