"""HTTP, in-band, gRPC and transport failures map onto one tree with a blame."""

from __future__ import annotations

import pytest
from grok_web import errors, translate

SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJzZXNzaW9uX2lkIjoiMTIzNDU2In0.c2lnbmF0dXJlLXZhbHVl"


@pytest.mark.parametrize(
    ("status", "body", "ctype", "expected", "blame"),
    [
        (401, b'{"error":"unauthorized"}', "application/json", errors.InvalidCredential, "account"),
        (
            400,
            b'{"error":"invalid-credentials"}',
            "application/json",
            errors.InvalidCredential,
            "account",
        ),
        (
            403,
            b'{"error":{"message":"blocked-user"}}',
            "application/json",
            errors.InvalidCredential,
            "account",
        ),
        (
            403,
            b"<!DOCTYPE html><title>Just a moment...</title>",
            "text/html",
            errors.CloudflareChallenge,
            "egress",
        ),
        (403, b"", "", errors.CloudflareChallenge, "egress"),
        (
            403,
            b'{"error":{"message":"not allowed"}}',
            "application/json",
            errors.Forbidden,
            "account",
        ),
        (429, b'{"error":"slow down"}', "application/json", errors.RateLimited, "account"),
        (502, b"bad gateway", "text/plain", errors.UpstreamUnavailable, "transient"),
        (404, b"{}", "application/json", errors.NotFound, "transient"),
        (400, b'{"error":"bad field"}', "application/json", errors.RequestRejected, "transient"),
    ],
)
def test_http_statuses_are_classified(status, body, ctype, expected, blame):
    error = translate.from_status(status=status, body=body, content_type=ctype)
    assert type(error) is expected
    assert error.blame == blame
    assert error.status == status


def test_rate_limited_carries_retry_after():
    error = translate.from_status(status=429, body=b"{}", retry_after="17")
    assert isinstance(error, errors.RateLimited)
    assert error.retry_after == 17.0


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (16, errors.InvalidCredential),
        (7, errors.Forbidden),
        (8, errors.RateLimited),
        (14, errors.UpstreamUnavailable),
    ],
)
def test_grpc_statuses_are_classified(status, expected):
    assert type(translate.from_grpc(status=status, message="x")) is expected


def test_messages_never_contain_credentials():
    bodies = [
        f'{{"error":"session {SECRET} expired"}}'.encode(),
        f"<html>Just a moment sso={SECRET}; sso-rw={SECRET}</html>".encode(),
    ]
    for body in bodies:
        for status in (401, 403, 429, 500):
            error = translate.from_status(status=status, body=body, secrets=(SECRET,))
            assert SECRET not in str(error) and SECRET not in repr(error)
    inband = translate.from_inband({"code": 8, "message": f"limit for {SECRET}"}, secrets=(SECRET,))
    assert SECRET not in str(inband)
    transport = translate.from_transport(OSError(f"reset while sending sso={SECRET}"))
    assert SECRET not in str(transport)


def test_scrub_removes_jwt_like_values_even_when_not_named():
    assert SECRET not in translate.scrub(f"token {SECRET} bad")


def test_every_upstream_error_class_has_a_known_blame():
    def walk(cls):
        yield cls
        for sub in cls.__subclasses__():
            yield from walk(sub)

    for cls in walk(errors.UpstreamError):
        assert cls.blame in {"account", "egress", "transient"}, cls
