"""The egresses this replica knows, with the routes leases hand out.

Loaded from the durable store (``load``, again on every egress change notice); when the
store has none, the one egress the settings describe (``settings_egress``), or nothing.
Routes are built once per load, so handing one out with a lease costs a dict lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from grok2api_poolclient.leases import EgressRoute
from grok2api_settings import Settings
from grok2api_storage import protocols, records

from . import health, settings_egress


class EgressRegistry:
    def __init__(
        self, *, settings: Callable[[], Settings], repo: protocols.EgressRepository
    ) -> None:
        self._settings = settings
        self._repo = repo
        self._egresses: dict[str, records.EgressRecord] = {}
        self._routes: dict[str, EgressRoute] = {}
        self.health: dict[str, health.Health] = {}
        self.from_settings = False
        """True when the egress is the legacy one built from the settings."""
        self._loaded_with: tuple[str, ...] = ()

    def _settings_key(self) -> tuple[str, ...]:
        """The settings the egresses and their routes are built from."""
        network, security = self._settings().network, self._settings().security
        return (
            network.base_proxy_url, network.asset_proxy_url, security.cf_clearance,
            security.browser, security.user_agent,
        )  # fmt: skip

    @property
    def settings_changed(self) -> bool:
        """Whether those settings changed since the last load (a live settings change)."""
        return self._settings_key() != self._loaded_with

    async def load(self) -> None:
        self._loaded_with = self._settings_key()
        stored = await self._repo.list()
        legacy = None if stored else settings_egress.from_settings(self._settings())
        self.from_settings = legacy is not None
        egresses = (legacy,) if legacy is not None else stored
        self.replace(egresses)

    def replace(self, egresses: Sequence[records.EgressRecord]) -> None:
        self._egresses = {e.id: e for e in egresses}
        self._routes = {e.id: self._route(e) for e in egresses}
        for egress in egresses:
            self._seen(egress)
        for gone in set(self.health) - set(self._egresses):
            del self.health[gone]

    def keep(self, egress: records.EgressRecord) -> None:
        """Replace one egress (a refreshed clearance) without reading the store."""
        self._egresses[egress.id] = egress
        self._routes[egress.id] = self._route(egress)
        self._seen(egress)

    def _seen(self, egress: records.EgressRecord) -> None:
        seen = self.health.setdefault(egress.id, health.Health())
        if egress.clearance is not None:
            seen.clearance_seen(egress.clearance.obtained_at.timestamp())

    def _route(self, egress: records.EgressRecord) -> EgressRoute:
        security = self._settings().security
        clearance = egress.clearance
        # The clearance is tied to the user agent that obtained it: send that one.
        user_agent = (
            (clearance.user_agent if clearance else "") or egress.user_agent or security.user_agent
        )
        return EgressRoute(
            egress_id=egress.id,
            name=egress.name,
            proxy_url=egress.proxy_url,
            asset_proxy_url=egress.asset_proxy_url,
            browser=egress.browser or security.browser,
            user_agent=user_agent,
            clearance_cookies=clearance.cookies if clearance else "",
        )

    @property
    def empty(self) -> bool:
        return not self._egresses

    def get(self, egress_id: str) -> records.EgressRecord | None:
        return self._egresses.get(egress_id)

    def all(self) -> tuple[records.EgressRecord, ...]:
        return tuple(self._egresses.values())

    def route(self, egress_id: str) -> EgressRoute | None:
        """The route a lease through ``egress_id`` carries; None for "" (no egress) or an
        egress removed since the account was bound."""
        return self._routes.get(egress_id) if egress_id else None

    def candidates(self, tags: Sequence[str], *, now: float) -> list[str]:
        """The egresses that may serve an account carrying ``tags``, as ``bind_egress``
        takes them: enabled and healthy; an egress with tags serves only accounts carrying
        one of them, one without tags serves any account. ``[""]`` when there is no egress
        at all (leases then carry none)."""
        if not self._egresses:
            return [""]
        carried = set(tags)
        return [
            e.id
            for e in self._egresses.values()
            if e.enabled
            and self.health[e.id].usable(now)
            and (not e.tags or carried.intersection(e.tags))
        ]

    def usable(self, *, now: float) -> frozenset[str]:
        """The egresses that may take accounts now (enabled, neither cooling nor
        unreachable): when this set changes, accounts may need to move."""
        return frozenset(
            e.id for e in self._egresses.values() if e.enabled and self.health[e.id].usable(now)
        )

    def caps(self) -> dict[str, int]:
        return {e.id: e.max_inflight for e in self._egresses.values()}

    def state(self, egress_id: str, *, now: float) -> health.State:
        egress = self._egresses[egress_id]
        if not egress.enabled:
            return health.State.DISABLED
        current = self.health[egress_id].state(now)
        if current is health.State.HEALTHY and egress.clearance is None:
            return health.State.NO_CLEARANCE
        return current
