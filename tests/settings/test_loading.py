from pathlib import Path

import pytest
from grok2api_settings import Settings, loading, rendering
from grok2api_settings.errors import SettingsError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_match_the_seed_table():
    settings = Settings()
    assert settings.app.app_key == "grok2api"
    assert settings.network.timeout == 120
    assert settings.security.browser == "chrome136"
    assert settings.chat.filter_tags == ["xaiartifact", "xai:tool_usage_card", "grok:render"]
    assert settings.retry.retry_status_codes == [401, 429, 403]
    assert settings.image.image_ws_final_min_bytes == 100000
    assert settings.token.fail_threshold == 5
    assert settings.performance.usage_batch_size == 50
    assert settings.network.base_url == "https://grok.com"
    assert settings.network.assets_url == "https://assets.grok.com"


def test_file_values_override_defaults_and_env_overrides_the_file(tmp_path):
    config = write(tmp_path / "c.toml", "[chat]\nstream = false\n[server]\nport = 9001\n")
    loaded = loading.load(config_file=config, environ={"SERVER_PORT": "9002"})
    assert loaded.settings.chat.stream is False
    assert loaded.settings.server.port == 9002
    assert loaded.origin("chat.stream") == f"file:{config}"
    assert loaded.origin("server.port") == "env:SERVER_PORT"
    assert loaded.origin("chat.thinking") == "default"


@pytest.mark.parametrize(
    ("name", "value", "dotted", "expected"),
    [
        ("LOG_LEVEL", "DEBUG", ("log", "level"), "DEBUG"),
        ("LOG_FILE_ENABLED", "false", ("log", "file_enabled"), False),
        ("SERVER_HOST", "127.0.0.1", ("server", "host"), "127.0.0.1"),
        ("SERVER_WORKERS", "3", ("server", "workers"), 3),
        ("SERVER_STORAGE_TYPE", "pgsql", ("server", "storage_type"), "pgsql"),
        ("REDIS_URL", "redis://h:6379/0", ("services", "redis_url"), "redis://h:6379/0"),
        ("TOKEN_POOL_ADDR", "pool:50051", ("services", "token_pool_addr"), "pool:50051"),
        ("GROK2API_RETRY__MAX_RETRY", "7", ("retry", "max_retry"), 7),
        ("GROK2API_RETRY__RETRY_STATUS_CODES", "[429, 502]", ("retry", "retry_status_codes"),
         [429, 502]),
        ("GROK2API_CHAT__FILTER_TAGS", "a, b", ("chat", "filter_tags"), ["a", "b"]),
    ],
)
def test_environment_variables_set_their_key(tmp_path, name, value, dotted, expected):
    loaded = loading.load(config_file=tmp_path / "none.toml", environ={name: value})
    assert getattr(getattr(loaded.settings, dotted[0]), dotted[1]) == expected


def test_data_dir_comes_from_the_environment_and_holds_the_config(tmp_path):
    write(tmp_path / "config.toml", "[app]\napi_key = \"k\"\n")
    loaded = loading.load(environ={"DATA_DIR": str(tmp_path)})
    assert loaded.settings.data_dir == tmp_path
    assert loaded.settings.app.api_key == "k"


def test_a_malformed_file_value_names_key_value_and_file(tmp_path):
    config = write(tmp_path / "c.toml", "[retry]\nmax_retry = \"lots\"\n")
    with pytest.raises(SettingsError) as caught:
        loading.load(config_file=config, environ={})
    message = str(caught.value)
    assert "retry.max_retry" in message and "'lots'" in message and str(config) in message


def test_a_malformed_env_value_names_the_variable(tmp_path):
    with pytest.raises(SettingsError, match=r"server\.port = 'x' from env:SERVER_PORT"):
        loading.load(config_file=tmp_path / "none.toml", environ={"SERVER_PORT": "x"})


def test_a_bad_secret_value_is_not_echoed(tmp_path):
    config = write(tmp_path / "c.toml", "[app]\napi_key = 12345\n")
    with pytest.raises(SettingsError) as caught:
        loading.load(config_file=config, environ={})
    assert "12345" not in str(caught.value)
    assert "app.api_key" in str(caught.value)


def test_unknown_keys_warn_and_are_ignored(tmp_path, caplog):
    config = write(tmp_path / "c.toml", "[chat]\nstreem = true\n[nonsense]\nx = 1\n")
    loaded = loading.load(config_file=config, environ={})
    assert any("chat.streem" in w for w in loaded.warnings)
    assert any("[nonsense]" in w for w in loaded.warnings)


def test_an_env_variable_with_the_prefix_but_no_such_key_stops(tmp_path):
    with pytest.raises(SettingsError, match="GROK2API_CHAT__STREEM names no setting"):
        loading.load(config_file=tmp_path / "n.toml", environ={"GROK2API_CHAT__STREEM": "1"})


def test_invalid_toml_names_the_file(tmp_path):
    config = write(tmp_path / "c.toml", "[chat\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        loading.load(config_file=config, environ={})


def test_legacy_grok_and_proxy_sections_are_migrated_with_one_log_line_per_key(tmp_path, caplog):
    config = write(
        tmp_path / "old.toml",
        "[grok]\ntemporary = false\nmax_retry = 9\nstream_timeout = 33\nimage_ws = false\n"
        "[proxy]\nbase_proxy_url = \"socks5://p:1080\"\ncf_clearance = \"cf\"\n"
        "browser = \"chrome120\"\n",
    )
    caplog.set_level("WARNING")
    loaded = loading.load(config_file=config, environ={})
    s = loaded.settings
    assert s.chat.temporary is False
    assert s.retry.max_retry == 9
    assert s.timeout.stream_idle_timeout == 33
    assert s.image.image_ws is False
    assert s.network.base_proxy_url == "socks5://p:1080"
    assert s.security.cf_clearance == "cf"
    assert s.security.browser == "chrome120"
    moved = [r.getMessage() for r in caplog.records if "settings_key_migrated" in r.getMessage()]
    assert len(moved) == 7
    assert not loaded.warnings


def test_the_defaults_file_is_valid_and_holds_every_key(tmp_path):
    text = rendering.defaults_file()
    config = write(tmp_path / "c.toml", text)
    loaded = loading.load(config_file=config, environ={})
    assert loaded.settings == Settings()
    assert not loaded.warnings
    for key, _, _ in rendering.effective(loaded):
        if key != "data_dir":
            assert f"\n{key.split('.')[1]} = " in text


def test_effective_view_masks_secrets(tmp_path):
    config = write(tmp_path / "c.toml", "[app]\napi_key = \"sk-very-secret\"\n")
    rows = rendering.effective(loading.load(config_file=config, environ={}))
    shown = {key: value for key, value, _ in rows}
    assert shown["app.api_key"] == '"***"'
    assert "sk-very-secret" not in str(rows)
