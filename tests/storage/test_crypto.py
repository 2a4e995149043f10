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
