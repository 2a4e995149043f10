"""The credential cipher: key sources, key file creation, clear errors."""

from __future__ import annotations

import concurrent.futures
import stat
from pathlib import Path

import pytest
from grok2api_settings import Settings
from grok2api_storage import crypto, errors


def settings(tmp_path: Path, key: str = "") -> Settings:
    return Settings.model_validate(
        {"data_dir": str(tmp_path / "data"), "security": {"encryption_key": key}}
    )


def test_uses_the_configured_key(tmp_path: Path) -> None:
    key = crypto.generate_key()
    one = crypto.load_cipher(settings(tmp_path, key), allow_generate=False)
    two = crypto.load_cipher(settings(tmp_path, key), allow_generate=True)
    assert two.decrypt(one.encrypt("sso=value")) == "sso=value"
    assert one.fingerprint("sso=value") == two.fingerprint("sso=value")
    assert not (tmp_path / "data" / "secret.key").exists()


def test_generates_a_private_key_file_once_and_reuses_it(tmp_path: Path) -> None:
    first = crypto.load_cipher(settings(tmp_path), allow_generate=True)
    path = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = crypto.load_cipher(settings(tmp_path), allow_generate=True)
    assert second.decrypt(first.encrypt("sso=value")) == "sso=value"
    assert first.source == str(path)


def test_concurrent_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        ciphers = list(
            pool.map(
                lambda _: crypto.load_cipher(settings(tmp_path), allow_generate=True), range(8)
            )
        )
    token = ciphers[0].encrypt("sso=value")
    assert all(cipher.decrypt(token) == "sso=value" for cipher in ciphers)
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["secret.key"]


def test_a_split_deployment_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(errors.EncryptionKeyError, match=r"security\.encryption_key is empty"):
        crypto.load_cipher(settings(tmp_path), allow_generate=False)
    assert not (tmp_path / "data" / "secret.key").exists()


def test_a_malformed_key_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(errors.EncryptionKeyError, match=r"security\.encryption_key") as caught:
        crypto.load_cipher(settings(tmp_path, "not-a-fernet-key"), allow_generate=False)
    assert "not-a-fernet-key" not in str(caught.value)


def test_decrypting_with_another_key_names_the_setting(tmp_path: Path) -> None:
    token = crypto.load_cipher(settings(tmp_path, crypto.generate_key()), allow_generate=False)
    other = crypto.load_cipher(settings(tmp_path, crypto.generate_key()), allow_generate=False)
    with pytest.raises(errors.DecryptionError, match=r"security\.encryption_key"):
        other.decrypt(token.encrypt("sso=value"))


def test_fingerprints_depend_on_the_key_and_hide_the_credential(tmp_path: Path) -> None:
    one = crypto.CredentialCipher(key=crypto.generate_key(), source="a")
    two = crypto.CredentialCipher(key=crypto.generate_key(), source="b")
    assert one.fingerprint("sso=value") != two.fingerprint("sso=value")
    assert one.fingerprint("sso=value") != one.fingerprint("sso=value2")
    assert len(one.fingerprint("sso=value")) == 64
    assert one.encrypt("sso=value") != one.encrypt("sso=value")
    assert "sso=value" not in one.encrypt("sso=value")


def test_a_key_of_the_wrong_length_is_refused_at_load(tmp_path: Path) -> None:
    import base64

    short = base64.urlsafe_b64encode(b"k" * 31).decode()
    with pytest.raises(errors.EncryptionKeyError, match="32 url-safe base64 bytes"):
        crypto.load_cipher(settings(tmp_path, short), allow_generate=False)


def test_generated_keys_are_fernet_keys() -> None:
    from cryptography.fernet import Fernet

    key = crypto.generate_key()
    assert Fernet(key).decrypt(Fernet(key).encrypt(b"x")) == b"x"
    assert key != crypto.generate_key()


def test_fingerprints_and_ciphertexts_stay_readable_across_versions() -> None:
    # Values a stored database holds: a fingerprint (HKDF-SHA256 key, HMAC-SHA256) and a
    # Fernet token made by an earlier version with this key must still match and decrypt.
    cipher = crypto.CredentialCipher(
        key="h0Lr9Yw8fK3tZ1Xq2bWmE4pN6sV7uC5dA8gJ9kL0oPQ=", source="test"
    )
    assert cipher.fingerprint("sso=abc") == (
        "a4adc0b928c2fdc015a33ae6d84b0367980241f0c99b9766136e30302fe0bf67"
    )
    token = (
        "gAAAAABrFu8EnLrlqF0ChgW17e_TU0yELOZgA_lycbPdpqx3k2MDujQ4HkE0HCTEkm4-K95JqjNEBu46mo7-Y8"
        "CKoUd2WT4PFw=="
    )
    assert cipher.decrypt(token) == "secret"
