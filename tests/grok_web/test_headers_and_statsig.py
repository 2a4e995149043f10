"""Header sets (§2.2), cookies (§2.1) and x-statsig-id (§2.3)."""

from __future__ import annotations

import base64
import dataclasses
import re
import uuid

from grok_web import headers, options, statsig


def factory(**chat: bool) -> headers.HeaderFactory:
    opts = options.ClientOptions(
        egress=options.Egress(cf_clearance="cf-value"),
        chat=options.ChatDefaults(**chat),
    )
    return headers.HeaderFactory(options=opts)


def test_json_headers_carry_the_documented_set():
    h = factory().json(credential="tok", origin="https://grok.com", referer="https://grok.com/")
    assert h["Baggage"] == headers.BAGGAGE
    assert h["Accept"] == "*/*"
    assert h["Content-Type"] == "application/json"
    assert h["Sec-Fetch-Site"] == "same-origin"
    assert h["Sec-Fetch-Dest"] == "empty"
    assert h["Priority"] == "u=1, i"
    assert h["Cookie"] == "sso=tok; sso-rw=tok; cf_clearance=cf-value"
    assert uuid.UUID(h["x-xai-request-id"]).version == 4
    assert h["Sec-Ch-Ua"].startswith('"Google Chrome";v="136", "Chromium";v="136"')
    assert h["Sec-Ch-Ua-Platform"] == '"macOS"'
    assert "sentry-trace" not in {k.lower() for k in h}


def test_cross_host_referer_is_same_site():
    assert headers.fetch_site("https://accounts.x.ai", "https://grok.com/") == "same-site"


def test_leading_sso_prefix_is_stripped():
    assert headers.sso_cookie("sso=abc") == "sso=abc; sso-rw=abc"


def test_request_ids_are_unique_per_request():
    f = factory()
    ids = {f.json(credential="t", origin="o", referer="r")["x-xai-request-id"] for _ in range(20)}
    assert len(ids) == 20


def test_request_ids_are_canonical_version_4_uuids():
    for _ in range(200):  # the version and variant bits are forced whatever the random bytes
        text = headers.request_uuid()
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)


def test_static_statsig_is_the_documented_literal():
    assert statsig.static_id() == (
        "ZTpUeXBlRXJyb3I6IENhbm5vdCByZWFkIHByb3BlcnRpZXMgb2YgdW5kZWZpbmVkIChyZWFkaW5nICdjaGlsZE5vZGVzJyk="
    )
    h = factory(dynamic_statsig=False).json(credential="t", origin="o", referer="r")
    assert h["x-statsig-id"] == statsig.static_id()


def test_dynamic_statsig_changes_per_request_and_matches_the_templates():
    values = {statsig.dynamic_id() for _ in range(50)}
    assert len(values) > 40
    pattern = re.compile(
        r"e:TypeError: Cannot read properties of (null \(reading 'children\['[a-z0-9]{5}'\]'\)"
        r"|undefined \(reading '[a-z]{10}'\))"
    )
    for value in values:
        assert pattern.fullmatch(base64.b64decode(value).decode())


def test_grpc_web_headers():
    h = factory().grpc_web(
        credential="t", origin="https://accounts.x.ai", referer="https://accounts.x.ai/accept-tos"
    )
    assert h["Content-Type"] == "application/grpc-web+proto"
    assert h["x-grpc-web"] == "1"
    assert h["x-user-agent"] == "connect-es/2.1.1"


def test_download_headers_are_navigation_style():
    h = factory().download(
        credential="t",
        url="https://assets.grok.com/users/u/x/image.jpg",
        referer="https://grok.com/",
    )
    assert h["Sec-Fetch-Mode"] == "navigate"
    assert h["Content-Type"] == "image/jpeg"
    assert h["Origin"] == "https://assets.grok.com"
    assert "x-statsig-id" not in h


def test_client_hints_follow_the_user_agent():
    hints = headers.client_hints(
        user_agent=(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36 Edg/131.0"
        ),
        browser="edge131",
    )
    assert hints["Sec-Ch-Ua"].startswith('"Microsoft Edge";v="131"')
    assert hints["Sec-Ch-Ua-Platform"] == '"Windows"'


def test_options_repr_hides_clearance():
    opts = options.ClientOptions(egress=options.Egress(cf_clearance="very-secret-cf"))
    assert "very-secret-cf" not in repr(opts)
    assert dataclasses.replace(opts).egress.cf_clearance == "very-secret-cf"
