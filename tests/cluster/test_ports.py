"""The cluster's port picker: every address is chosen before anything starts, so a port the
kernel offers twice must not be handed out twice."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from grok2api_cluster import cluster


class ReusingSocket:
    """Binds to port 0 and gets the ports in ``offered``, in turn (the kernel may repeat)."""

    offered: list[int] = []

    def __enter__(self) -> ReusingSocket:
        return self

    def __exit__(self, *_: Any) -> None:
        pass

    def bind(self, address: tuple[str, int]) -> None:
        assert address == ("127.0.0.1", 0)

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self.offered.pop(0))


def test_a_port_offered_again_is_not_handed_out_again(monkeypatch: pytest.MonkeyPatch) -> None:
    first = cluster.free_port()  # a real one
    never_offered = 1  # below the ephemeral range: no earlier pick can have been this
    ReusingSocket.offered = [first, first, never_offered]
    monkeypatch.setattr(cluster.socket, "socket", ReusingSocket)

    assert cluster.free_port() == never_offered
    assert ReusingSocket.offered == []


def test_real_ports_are_free_and_distinct() -> None:
    ports = [cluster.free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    for port in ports[:5]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
