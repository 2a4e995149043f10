"""Upstream TLS trust: the bundled certificates by default; ``ClientOptions.ca_bundle``
(network.ca_bundle, else CURL_CA_BUNDLE / REQUESTS_CA_BUNDLE / SSL_CERT_FILE) replaces
them, for HTTP calls and WebSockets alike. The server is local, its CA made here."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grok_web import client as client_mod
from grok_web import errors, trust
from grok_web import options as options_mod
from grok_web_helpers import make_options, read_request

LIMITS = b'{"remainingQueries":7,"totalQueries":20}'


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def make_pki(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 it signed: (ca.pem, cert.pem, key.pem)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(_name("test CA")).issuer_name(_name("test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))  # fmt: skip
    return paths


@pytest.fixture
async def https_server(tmp_path):
    """(base URL, CA bundle path) of an HTTPS server answering every request with LIMITS."""
    ca, cert, key = make_pki(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await read_request(reader)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(LIMITS)).encode() + b"\r\nConnection: close\r\n\r\n" + LIMITS
            )  # fmt: skip
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # the client refused our certificate
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    yield f"https://127.0.0.1:{port}", ca
    server.close()


async def test_an_unknown_ca_is_refused_and_trusted_once_its_bundle_is_configured(
    https_server,
) -> None:
    base_url, ca = https_server
    options = make_options(base_url)
    async with client_mod.GrokClient(options=options) as grok:
        with pytest.raises(errors.UpstreamUnavailable, match="certificate"):
            await grok.rate_limits(credential="sso-token-1", mode="auto")
    trusted = dataclasses.replace(options, ca_bundle=str(ca))
    async with client_mod.GrokClient(options=trusted) as grok:
        limit = await grok.rate_limits(credential="sso-token-1", mode="auto")
        assert limit.remaining == 7
        # a call through a pool egress trusts the same bundle
        egress = options_mod.egress(egress_id="e", name="e")
        assert (await grok.rate_limits(credential="t1", mode="auto", egress=egress)).remaining == 7


async def test_websockets_trust_the_configured_bundle_too(https_server) -> None:
    base_url, ca = https_server
    options = make_options(base_url)
    wss = base_url.replace("https://", "wss://") + "/ws/imagine/listen"
    trusted = dataclasses.replace(options, ca_bundle=str(ca))
    async with client_mod.GrokClient(options=options) as grok:
        with pytest.raises(errors.UpstreamUnavailable, match="certificate"):
            await grok._ctx.transport.websocket(wss, headers={})
    async with client_mod.GrokClient(options=trusted) as grok:
        # past TLS the server answers 200 instead of 101: refused as an upgrade, not as TLS
        with pytest.raises(errors.GrokWebError) as raised:
            await grok._ctx.transport.websocket(wss, headers={})
        assert "certificate" not in str(raised.value)


def test_the_setting_wins_then_the_variables_in_order(tmp_path) -> None:
    setting, curl, requests_, openssl = (tmp_path / n for n in ("s", "c", "r", "o"))
    for path in (setting, curl, requests_, openssl):
        path.write_text("pem")
    env = {"CURL_CA_BUNDLE": str(curl), "REQUESTS_CA_BUNDLE": str(requests_),
           "SSL_CERT_FILE": str(openssl)}  # fmt: skip
    assert trust.ca_bundle(str(setting), environ=env) == str(setting)
    assert trust.ca_bundle("", environ=env) == str(curl)
    del env["CURL_CA_BUNDLE"]
    assert trust.ca_bundle("", environ=env) == str(requests_)
    del env["REQUESTS_CA_BUNDLE"]
    assert trust.ca_bundle("", environ=env) == str(openssl)
    assert trust.ca_bundle("", environ={}) == ""


def test_a_missing_bundle_is_refused_naming_where_it_came_from(tmp_path) -> None:
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(trust.TrustError, match=r"network\.ca_bundle"):
        trust.ca_bundle(missing, environ={})
    with pytest.raises(trust.TrustError, match="REQUESTS_CA_BUNDLE"):
        trust.ca_bundle("", environ={"REQUESTS_CA_BUNDLE": missing})


def test_settings_reach_the_client_options(tmp_path, monkeypatch) -> None:
    from grok2api_settings import Settings

    bundle = tmp_path / "ca.pem"
    bundle.write_text("pem")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert options_mod.ClientOptions.from_settings(Settings()).ca_bundle == str(bundle)
