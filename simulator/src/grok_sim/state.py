"""Everything one simulator instance knows, owned by its event loop."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import accounts, assets, clearance, faults, recorder, replies
from .options import SimOptions


@dataclass(frozen=True, kw_only=True)
class SeedAccount:
    """An account to (re)create on start and on every reset."""

    credential: str
    tier: str = "basic"
    quotas: Mapping[str, Any] | None = None


class SimState:
    """Accounts, faults, scripts, recordings, assets and options of one simulator."""

    def __init__(self, *, options: SimOptions, seed_accounts: Iterable[SeedAccount] = ()) -> None:
        self.options = options
        self.initial_options = options
        self.seed_accounts = tuple(seed_accounts)
        self.accounts = accounts.AccountRegistry()
        self.faults = faults.FaultBook()
        self.script = replies.ReplyScript()
        self.recorder = recorder.Recorder(limit=options.record_limit)
        self.assets = assets.AssetStore()
        self.clearance = clearance.ClearanceBook()
        self.open_mgw_sockets = 0
        """mgw WebSockets open now (accepted, handler not yet ended); a live count that
        :meth:`reset` leaves alone, so a test can see a client leave none open."""
        self._counter = 0
        self.reset()

    def now(self) -> float:
        return time.monotonic()

    @property
    def scale(self) -> float:
        return self.options.time_scale if self.options.time_scale > 0 else 1.0

    def reset(self) -> None:
        """Back to the start: startup options, seed accounts with fresh quotas, no faults,
        scripts, recordings, assets, clearances or challenges."""
        self.options = self.initial_options
        self.accounts.clear()
        self.faults.clear()
        self.script.clear()
        self.recorder.clear()
        self.assets.clear()
        self.clearance.clear()
        self._counter = 0
        for seed in self.seed_accounts:
            self.accounts.add(
                credential=seed.credential, tier=seed.tier, quotas=seed.quotas, now=self.now()
            )

    def update_options(self, **changes: Any) -> SimOptions:
        self.options = dataclasses.replace(self.options, **changes)
        return self.options

    def new_id(self, kind: str) -> str:
        """A deterministic UUID: the n-th id since the last reset under this seed."""
        self._counter += 1
        name = f"grok-sim:{self.options.seed}:{kind}:{self._counter}".encode()
        digest = hashlib.blake2b(name, digest_size=16).hexdigest()
        # Shaped like a UUIDv4 (version and variant nibbles) without building a UUID object.
        return (f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-"
                f"{'89ab'[int(digest[16], 16) % 4]}{digest[17:20]}-{digest[20:32]}")
