"""Fault rules: which failure to inject, for whom, how often, on which paths.

A rule matches an account (or every account when global), optionally only paths starting
with `path`, and fires `times` more times (None = always). Kinds and where they act:

- request faults (any grok.com endpoint, before the answer): 401, blocked, cf, 403, 404
  (an endpoint the upstream retired, e.g. the Imagine WebSocket for a while in 2026), 429,
  500, 502, 503
- upload-403: only the uploads, `POST /rest/app-chat/upload-file` and (HEAD generation)
  `POST /http/upload-file-v2/direct`
- stream faults (app-chat answers): code7, code8, usage-limit, slow-first-byte, slow-tokens,
  stall, drop, malformed, empty; they also act on the turns of the mgw WebSocket
  `/ws/mgw/` (HEAD generation), where code7/code8/usage-limit are `error` events and
  `empty` is a `response.done` with nothing before it
- mgw faults (only turns of `/ws/mgw/`): mgw-error (an `error` event `{code, message}`
  instead of the answer; params `code` (13), `message`), mgw-session-ended (the answer,
  then a `session.ended` event instead of `response.done`, then the socket closes)
- media faults: imagine-no-final (Imagine WebSocket), moderated (Imagine, edit, video)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

REQUEST_KINDS = ("401", "blocked", "cf", "403", "404", "429", "500", "502", "503")
STREAM_KINDS = (
    "code7", "code8", "usage-limit", "slow-first-byte", "slow-tokens",
    "stall", "drop", "malformed", "empty",
)
MEDIA_KINDS = ("imagine-no-final", "moderated")
UPLOAD_KINDS = ("upload-403",)
MGW_KINDS = ("mgw-error", "mgw-session-ended")
ALL_KINDS = frozenset(REQUEST_KINDS + STREAM_KINDS + MEDIA_KINDS + UPLOAD_KINDS + MGW_KINDS)

MGW_PATH = "/ws/mgw/"
# Request faults act on every grok.com endpoint; stream faults only where a stream exists
# (the REST app-chat answers and the mgw WebSocket's turns).
DEFAULT_PATH: dict[str, tuple[str, ...]] = {
    kind: ("/rest/app-chat/conversations", MGW_PATH) for kind in STREAM_KINDS
}
DEFAULT_PATH["upload-403"] = ("/rest/app-chat/upload-file", "/http/upload-file-v2/direct")
DEFAULT_PATH.update({kind: (MGW_PATH,) for kind in MGW_KINDS})


@dataclass(kw_only=True)
class FaultRule:
    """One armed fault. `params` tunes it: delay_ms, retry_after, after_frames."""

    kind: str
    account: str | None = None
    times: int | None = None
    path: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def applies(self, *, credential: str, path: str) -> bool:
        if self.account is not None and self.account != credential:
            return False
        if self.path:
            return path.startswith(self.path)
        prefixes = DEFAULT_PATH.get(self.kind)
        return prefixes is None or path.startswith(prefixes)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "scope": "account" if self.account else "global",
            "times": self.times,
            "path": self.path,
            "params": dict(self.params),
        }


class FaultBook:
    """Armed faults: rules from the control API plus the standing faults of conventions."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []

    def arm(self, rule: FaultRule) -> None:
        if rule.kind not in ALL_KINDS:
            raise ValueError(f"unknown fault kind {rule.kind!r}; known: {sorted(ALL_KINDS)}")
        self._rules.append(rule)

    def clear(self, *, account: str | None = None) -> None:
        if account is None:
            self._rules.clear()
        else:
            self._rules = [r for r in self._rules if r.account != account]

    def describe(self) -> list[dict[str, Any]]:
        return [r.describe() for r in self._rules]

    def take(
        self,
        *,
        kinds: Iterable[str],
        credential: str,
        path: str,
        standing: Iterable[str] = (),
    ) -> dict[str, FaultRule]:
        """Fire every matching fault among `kinds` (one rule per kind) and return them.

        `standing` are the account's convention faults (always on). Per-account rules win
        over global ones; a fired counted rule loses one use and is dropped at zero.
        """
        if not self._rules and not standing:
            return {}
        wanted = set(kinds)
        fired: dict[str, FaultRule] = {}
        for kind in standing:
            if kind in wanted:
                fired[kind] = FaultRule(kind=kind, account=credential)
        ordered = sorted(self._rules, key=lambda r: r.account is None)
        for rule in ordered:
            if rule.kind in wanted and rule.kind not in fired and rule.applies(
                credential=credential, path=path
            ):
                fired[rule.kind] = rule
                if rule.times is not None:
                    rule.times -= 1
        self._rules = [r for r in self._rules if r.times is None or r.times > 0]
        return fired


def convention_faults(credential: str) -> tuple[str, ...]:
    """Fault kinds named in a credential by the `fault-<kind>` convention."""
    lowered = credential.lower()
    found = []
    for kind in sorted(ALL_KINDS, key=len, reverse=True):
        marker = f"fault-{kind}"
        start = lowered.find(marker)
        while start >= 0:
            end = start + len(marker)
            if end == len(lowered) or not lowered[end].isalnum():
                found.append(kind)
                break
            start = lowered.find(marker, end)
    return tuple(found)
