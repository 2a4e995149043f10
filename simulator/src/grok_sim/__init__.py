"""grok_sim: an offline grok.com that speaks the Grok web protocol and injects faults.

One ASGI app serves every simulated host on one port: grok.com REST paths, the Imagine
WebSocket, accounts.x.ai gRPC-web, and asset downloads under `/users/...`, plus a JSON
control API under `/_sim/`.

Credential convention (from any client, no control API needed)
---------------------------------------------------------------
A credential (the `sso` cookie value) that starts with `sim-` or contains `fault-<kind>` is
created as an account on first use; any other unknown credential gets 401 with an
invalid-credential body. Inside such a credential:

- `tier-super` / `tier-heavy` choose the tier (default basic);
- `quota-<N>` sets every mode window's total to N;
- each `fault-<kind>` arms that fault on the account for good. Kinds:
  `fault-401`, `fault-blocked` (403 JSON `blocked-user`), `fault-cf` (403 Cloudflare HTML),
  `fault-403` (403 JSON), `fault-429`
  (with Retry-After), `fault-500` / `fault-502` / `fault-503`, `fault-code7` (in-band
  anti-bot), `fault-code8` (in-band rate limit), `fault-usage-limit`, `fault-slow-first-byte`,
  `fault-slow-tokens`, `fault-stall`, `fault-drop`, `fault-malformed`, `fault-empty`,
  `fault-imagine-no-final`, `fault-moderated`, `fault-upload-403`, and on the mgw WebSocket
  (August 2026 generation) `fault-mgw-error`, `fault-mgw-session-ended`.

Example: `sim-tier-super-quota-3`, `sim-fault-429`, `anything-fault-slow-tokens-fault-drop`.

Scripted replies: a prompt line `[[sim:reply={"text": "...", "reasoning": "..."}]]` or
`[[sim:search]]`, or the control API (`POST /_sim/replies`). See `replies` and the README.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .options import SimOptions
    from .state import SeedAccount

__all__ = ["SeedAccount", "SimOptions", "create_app"]

# Imported on first use: `grok2api` registers `grok2api sim` from grok_sim.cli in every
# process, and the app (routes, imaging with Pillow) would otherwise sit in the memory of
# every service that never serves the simulator.
_LAZY = {"create_app": ".app", "SimOptions": ".options", "SeedAccount": ".state"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)
