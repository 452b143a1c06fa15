"""Settings: defaults < file < environment < flags; bad config fails with the key and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import ConfigError, load_settings


def test_embedded_defaults_bind_localhost_and_use_sqlite_under_the_data_dir() -> None:
    settings = load_settings(environ={})
    assert settings.server.host == "127.0.0.1"
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.database_url.endswith("var/gateway.db")
    assert settings.uses_simulator


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[server]\nport = 9000\nhost = "0.0.0.0"\n[engine]\nurls = ["http://a:1"]\n')
    settings = load_settings(config, environ={"GATEWAY_SERVER__PORT": "9100"})
    assert (settings.server.port, settings.server.host) == (9100, "0.0.0.0")
    assert settings.engine.urls == ("http://a:1",)
    flagged = load_settings(
        config, environ={"GATEWAY_SERVER__PORT": "9100"}, overrides={"server": {"port": 9200, "host": None}}
    )
    assert (flagged.server.port, flagged.server.host) == (9200, "0.0.0.0")


def test_environment_lists_and_top_level_keys() -> None:
    settings = load_settings(
        environ={"GATEWAY_ENGINE__URLS": "http://a:1, http://b:2", "GATEWAY_DATA_DIR": "/srv/g"}
    )
    assert settings.engine.urls == ("http://a:1", "http://b:2")
    assert settings.data_dir == "/srv/g"


@pytest.mark.parametrize(
    ("toml", "environ", "expected"),
    [
        ('[server]\nport = "high"\n', {}, "server.port"),
        ("[server]\nprot = 1\n", {}, "prot"),
        ("[nonsense]\na = 1\n", {}, "nonsense"),
        ("", {"GATEWAY_SERVER__PORT": "70000"}, "server.port"),
        ("", {"GATEWAY_ENGINE__URLS": "ftp://x"}, "engine.urls"),
        ("", {"GATEWAY_STORAGE__URL": "mysql://x"}, "storage.url"),
        ("", {"GATEWAY_A__B__C": "1"}, "GATEWAY_A__B__C"),
        ("", {"GATEWAY_PII__MAX_TEXT_CHARS": "0"}, "pii.max_text_chars"),
        ("", {"GATEWAY_SERVER__PORT": "-1"}, "server.port"),
        ("", {"GATEWAY_ENGINE__SIM_PORT": "65536"}, "engine.sim_port"),
        ("", {"GATEWAY_SERVER__WORKERS": "0"}, "server.workers"),
        ("", {"GATEWAY_SERVER__MAX_BODY_BYTES": "0"}, "server.max_body_bytes"),
        ("", {"GATEWAY_SERVER__MAX_JSON_DEPTH": "1"}, "server.max_json_depth"),
        ("", {"GATEWAY_ENGINE__CONNECT_TIMEOUT_S": "0"}, "engine.connect_timeout_s"),
        ("", {"GATEWAY_ENGINE__READ_TIMEOUT_S": "-5"}, "engine.read_timeout_s"),
        ("", {"GATEWAY_ENGINE__MAX_CONNECTIONS": "0"}, "engine.max_connections"),
        ("", {"GATEWAY_PII__TIMEOUT_S": "0"}, "pii.timeout_s"),
        ("", {"GATEWAY_PII__QUEUE_TIMEOUT_S": "0"}, "pii.queue_timeout_s"),
        ("", {"GATEWAY_PII__MAX_PARALLEL": "257"}, "pii.max_parallel"),
        ("", {"GATEWAY_PII__CACHE_ENTRIES": "-1"}, "pii.cache_entries"),
        ("", {"GATEWAY_AUDIT__CHECKPOINT_EVERY": "0"}, "audit.checkpoint_every"),
        ("", {"GATEWAY_AUDIT__CHECKPOINT_INTERVAL_S": "0"}, "audit.checkpoint_interval_s"),
        ("", {"GATEWAY_AUTH__KEY_CACHE_TTL_S": "-1"}, "auth.key_cache_ttl_s"),
        ("", {"GATEWAY_AUTH__KEY_ROTATE_GRACE_S": "-1"}, "auth.key_rotate_grace_s"),
        ("[server]\nrequest_timeout_s = 600\n", {}, "server.request_timeout_s"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, toml: str, environ: dict[str, str], expected: str) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings(config, environ=environ)
    assert expected in str(info.value)


def test_text_size_limit_defaults_to_200k_characters_and_can_be_set() -> None:
    assert load_settings(environ={}).pii.max_text_chars == 200_000
    assert load_settings(environ={"GATEWAY_PII__MAX_TEXT_CHARS": "50000"}).pii.max_text_chars == 50_000


def test_invalid_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, environ={})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_settings_are_frozen() -> None:
    settings = load_settings(environ={})
    with pytest.raises(AttributeError):
        settings.server.port = 1  # type: ignore[misc]


def test_several_workers_need_shared_rate_limits() -> None:
    with pytest.raises(ConfigError, match=r"ratelimit\.redis_url"):
        load_settings(environ={"GATEWAY_SERVER__WORKERS": "2"})
    settings = load_settings(
        environ={"GATEWAY_SERVER__WORKERS": "2", "GATEWAY_RATELIMIT__REDIS_URL": "redis://x"}
    )
    assert settings.server.workers == 2


def test_model_aliases_from_file_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[engine.model_aliases]\n"gpt-4" = "deepseek-ai/DeepSeek-V3"\n')
    assert load_settings(config, environ={}).engine.model_aliases == {"gpt-4": "deepseek-ai/DeepSeek-V3"}
    settings = load_settings(environ={"GATEWAY_ENGINE__MODEL_ALIASES": "gpt-4=org/a,small=org/b"})
    assert settings.engine.model_aliases == {"gpt-4": "org/a", "small": "org/b"}
    assert load_settings(environ={}).engine.model_aliases == {}


@pytest.mark.parametrize(
    "aliases",
    ["same=same", "a=b,b=c", " padded=org/a", "a=", "bell\x07=org/a"],
    ids=["self", "chain", "padded", "empty", "control"],
)
def test_bad_model_aliases_fail_at_start(aliases: str) -> None:
    with pytest.raises(ConfigError, match=r"engine\.model_aliases"):
        load_settings(environ={"GATEWAY_ENGINE__MODEL_ALIASES": aliases})


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"GATEWAY_STORAGE__URL": "mysql://gw:hunter2-secret@db/gw"}, "storage.url"),
        ({"GATEWAY_ENGINE__URLS": "http://a:1,ftp://hunter2-secret@x"}, "engine.urls[1]"),
        ({"GATEWAY_LOGGING__LEVEL": "hunter2-secret"}, "logging.level"),
        ({"GATEWAY_SERVER__PORT": "hunter2-secret"}, "server.port"),
    ],
)
def test_bad_values_are_named_by_key_and_never_echoed(environ: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ=environ)
    assert str(info.value).startswith(f"{key}: ")
    assert "hunter2-secret" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_boundary_values_are_accepted() -> None:
    settings = load_settings(
        environ={
            "GATEWAY_SERVER__PORT": "0",
            "GATEWAY_ENGINE__SIM_PORT": "65535",
            "GATEWAY_PII__CACHE_ENTRIES": "0",
            "GATEWAY_AUTH__KEY_CACHE_TTL_S": "0",
            "GATEWAY_SERVER__MAX_JSON_DEPTH": "2",
        }
    )
    assert (settings.server.port, settings.engine.sim_port, settings.pii.cache_entries) == (0, 65535, 0)
