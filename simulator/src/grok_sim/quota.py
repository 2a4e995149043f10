"""Per-mode quota windows with the documented defaults (grok-protocol.md §8.2).

Windows are fixed: the first charge opens a window of `window_seconds` (simulated time);
when it has passed, the window refills to `total`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

MODES = ("auto", "fast", "expert", "heavy")

# v2.0.0 defaults; super also gets heavy 20/7200 (deliberate deviation: the seed serves
# grok-4-heavy on super accounts).
DEFAULT_QUOTAS: Mapping[str, Mapping[str, tuple[int, int]]] = {
    "basic": {"auto": (20, 72000), "fast": (60, 72000), "expert": (8, 36000)},
    "super": {"auto": (50, 7200), "fast": (140, 7200), "expert": (50, 7200), "heavy": (20, 7200)},
    "heavy": {"auto": (150, 7200), "fast": (400, 7200), "expert": (150, 7200), "heavy": (20, 7200)},
}


@dataclass(kw_only=True)
class QuotaWindow:
    """One mode's window for one account (mutable state, owned by the account)."""

    total: int
    window_seconds: int
    used: int = 0
    opened_at: float | None = None

    def refresh(self, *, now: float, scale: float) -> None:
        """Refill when the window has passed (`scale` = simulated seconds per real second)."""
        if self.opened_at is not None and now - self.opened_at >= self.window_seconds / scale:
            self.used = 0
            self.opened_at = None

    def remaining(self, *, now: float, scale: float) -> int:
        self.refresh(now=now, scale=scale)
        return max(self.total - self.used, 0)

    def charge(self, *, now: float, scale: float, cost: int = 1) -> bool:
        """Take `cost` queries; False (nothing taken) when the window is exhausted."""
        self.refresh(now=now, scale=scale)
        if self.total - self.used < cost:
            return False
        if self.opened_at is None:
            self.opened_at = now
        self.used += cost
        return True

    def retry_after(self, *, now: float, scale: float) -> int:
        """Whole real seconds until the window refills (at least 1)."""
        if self.opened_at is None:
            return 1
        left = self.window_seconds / scale - (now - self.opened_at)
        return max(math.ceil(left), 1)


def build_windows(
    *, tier: str, overrides: Mapping[str, object] | None, now: float
) -> dict[str, QuotaWindow]:
    """Windows for a new account: tier defaults, then `overrides` per mode.

    An override is an int (total) or a mapping with any of `total`, `remaining`,
    `window_seconds`. `remaining` below `total` opens the window now.
    """
    windows = {
        mode: QuotaWindow(total=total, window_seconds=seconds)
        for mode, (total, seconds) in DEFAULT_QUOTAS[tier].items()
    }
    for mode, spec in (overrides or {}).items():
        if mode not in MODES:
            raise ValueError(f"unknown quota mode {mode!r}")
        base = windows.get(mode) or QuotaWindow(total=0, window_seconds=7200)
        if isinstance(spec, int):
            base = QuotaWindow(total=spec, window_seconds=base.window_seconds)
        elif isinstance(spec, Mapping):
            total = int(spec.get("total", base.total))
            seconds = int(spec.get("window_seconds", base.window_seconds))
            remaining = int(spec.get("remaining", total))
            base = QuotaWindow(total=max(total, remaining), window_seconds=seconds)
            if remaining < base.total:
                base.used = base.total - remaining
                base.opened_at = now
        else:
            raise ValueError(f"quota override for {mode!r} must be an int or an object")
        windows[mode] = base
    return windows
