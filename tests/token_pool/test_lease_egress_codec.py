"""A lease's egress on the wire: handed out whole with the lease, sent back by id only,
and never shown in a repr (proxy credentials and clearance cookies are secrets)."""

from __future__ import annotations

from grok2api_poolclient import grpc_codec
from grok2api_poolclient.leases import EgressRoute, Lease, Tier

ROUTE = EgressRoute(
    egress_id="eg-1", name="office-proxy", proxy_url="socks5h://user:pw-secret@10.0.0.9:1080",
    asset_proxy_url="http://user:pw-secret@10.0.0.9:3128", browser="chrome136",
    user_agent="Mozilla/5.0 test", clearance_cookies="cf_clearance=clear-secret; __cf_bm=bm",
)  # fmt: skip


def _lease(egress: EgressRoute | None) -> Lease:
    return Lease(
        lease_id="l-1", account_id="a-1", credential="sso-secret", tier=Tier.SUPER,
        mode="auto", cost=1, expires_at=1.0e9, egress=egress,
    )  # fmt: skip


def test_a_lease_carries_its_egress_whole_to_the_caller() -> None:
    back = grpc_codec.lease_from_pb(grpc_codec.lease_to_pb(_lease(ROUTE)))
    assert back.egress == ROUTE


def test_a_release_names_the_egress_and_carries_none_of_its_secrets() -> None:
    sent = grpc_codec.lease_to_pb(_lease(ROUTE), with_credential=False)
    assert (sent.egress.egress_id, sent.egress.name) == ("eg-1", "office-proxy")
    wire = sent.SerializeToString()
    for secret in (b"pw-secret", b"clear-secret", b"sso-secret"):
        assert secret not in wire


def test_a_lease_without_egress_stays_without() -> None:
    sent = grpc_codec.lease_to_pb(_lease(None))
    assert not sent.HasField("egress")
    assert grpc_codec.lease_from_pb(sent).egress is None


def test_reprs_never_show_the_proxy_or_the_clearance() -> None:
    shown = repr(_lease(ROUTE))
    assert "office-proxy" in shown
    for secret in ("pw-secret", "clear-secret", "sso-secret"):
        assert secret not in shown
