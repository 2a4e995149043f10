"""Birth date (REST) and ToS / NSFW (gRPC-web) account settings (§14)."""

from __future__ import annotations

import struct

from grok_sim import grpcweb
from grok_sim.testing import SimHandle
from sim_wire import UA, grok_headers

TOS = "/auth_mgmt.AuthManagement/SetTosAcceptedVersion"
NSFW = "/auth_mgmt.AuthManagement/UpdateUserFeatureControls"
NSFW_ON = bytes.fromhex("0a021001121a0a18") + b"always_show_nsfw_content"
NSFW_OFF = bytes.fromhex("0a021000121a0a18") + b"always_show_nsfw_content"


def grpc_headers(credential: str) -> dict[str, str]:
    return {
        "Cookie": f"sso={credential}; sso-rw={credential}",
        "Content-Type": "application/grpc-web+proto", "x-grpc-web": "1",
        "x-user-agent": "connect-es/2.1.1", "Origin": "https://accounts.x.ai",
        "Referer": "https://accounts.x.ai/accept-tos", "User-Agent": UA,
    }


def trailer_status(body: bytes) -> int:
    offset = 0
    while offset < len(body):
        flag, length = struct.unpack(">BI", body[offset:offset + 5])
        payload = body[offset + 5:offset + 5 + length]
        if flag & 0x80:
            pairs = (line.partition(":") for line in payload.decode().strip().split("\r\n"))
            lines = {name: value.strip() for name, _, value in pairs}
            return int(lines["grpc-status"])
        offset += 5 + length
    raise AssertionError("no trailer frame")


async def test_birth_date_is_set_once_then_limited(client, account, sim: SimHandle):
    url = "/rest/auth/set-birth-date"
    headers = grok_headers(account, Referer="https://grok.com/?_s=data")
    first = await client.post(url, headers=headers, json={"birthDate": "1990-04-02T16:00:00.000Z"})
    same = await client.post(url, headers=headers, json={"birthDate": "1990-04-02T16:00:00.000Z"})
    other = await client.post(url, headers=headers, json={"birthDate": "1991-04-02T16:00:00.000Z"})
    assert first.status_code == 200 and same.status_code == 200
    assert other.status_code == 429 and "birth-date-change-limit-reached" in other.text
    assert sim.accounts()[0]["birthDate"] == "1990-04-02T16:00:00.000Z"
    bad = await client.post(url, headers=headers, json={"birthDate": "1990-04-02"})
    assert bad.status_code == 400


async def test_accept_tos_answers_a_framed_empty_message_and_ok_trailer(client, account,
                                                                       sim: SimHandle):
    framed = b"\x00\x00\x00\x00\x02\x10\x01"
    answer = await client.post(TOS, headers=grpc_headers(account), content=framed)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/grpc-web+proto"
    assert answer.content.startswith(b"\x00\x00\x00\x00\x00")
    assert trailer_status(answer.content) == 0
    assert sim.accounts()[0]["tosVersion"] == 1


async def test_nsfw_feature_control_toggles_the_flag(client, account, sim: SimHandle):
    on = await client.post(NSFW, headers=grpc_headers(account), content=grpcweb.frame(NSFW_ON))
    assert trailer_status(on.content) == 0 and sim.accounts()[0]["nsfw"] is True
    off = await client.post(NSFW, headers=grpc_headers(account), content=grpcweb.frame(NSFW_OFF))
    assert trailer_status(off.content) == 0 and sim.accounts()[0]["nsfw"] is False


async def test_nsfw_body_starts_with_the_documented_frame_header(client, account):
    framed = grpcweb.frame(NSFW_ON)
    assert framed.startswith(b"\x00\x00\x00\x00\x20")


async def test_grpc_calls_require_grpc_web_headers(client, account):
    headers = grpc_headers(account)
    del headers["x-grpc-web"]
    answer = await client.post(TOS, headers=headers, content=grpcweb.frame(b"\x10\x01"))
    assert answer.status_code == 400 and "x-grpc-web" in answer.text


async def test_grpc_errors_use_grpc_status_codes(client, account, sim: SimHandle):
    unknown = await client.post(TOS, headers=grpc_headers("nobody"),
                                content=grpcweb.frame(b"\x10\x01"))
    assert trailer_status(unknown.content) == 16 and unknown.headers["grpc-status"] == "16"
    sim.set_fault("429", account=account, times=1)
    limited = await client.post(TOS, headers=grpc_headers(account),
                                content=grpcweb.frame(b"\x10\x01"))
    assert trailer_status(limited.content) == 8
    broken = await client.post(TOS, headers=grpc_headers(account), content=b"\x00\x00")
    assert trailer_status(broken.content) == 3


async def test_rest_tos_acceptance_records_the_version(client, account, sim: SimHandle):
    answer = await client.post("/rest/auth/set-tos-accepted", headers=grok_headers(account),
                               json={"tosVersion": 5})
    assert answer.status_code == 200 and sim.accounts()[0]["tosVersion"] == 5
    bad = await client.post("/rest/auth/set-tos-accepted", headers=grok_headers(account),
                            json={})
    assert bad.status_code == 400
