"""Typed, frozen settings: defaults < TOML file < ``GATEWAY_*`` environment < command-line flags.

Environment variables name a section and a key joined by a double underscore, for example
``GATEWAY_SERVER__PORT=8080`` or ``GATEWAY_ENGINE__URLS=http://10.0.0.5:30000,http://10.0.0.6:30000``;
``GATEWAY_DATA_DIR`` sets the top-level data directory. Unknown keys and bad values fail at
start with the key and the reason (:class:`ConfigError`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

ENV_PREFIX = "GATEWAY_"


class ConfigError(Exception):
    """The configuration is invalid; the message names the key and the reason."""


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = 8080
    # Bodies above this size are refused with 413 before they are parsed.
    max_body_bytes: int = 4 * 1024 * 1024
    # JSON nesting deeper than this is refused with 400 (chat bodies are shallow).
    max_json_depth: int = 64
    request_timeout_s: float = 600.0
    # Gateway processes sharing the port. More than one needs Redis for rate limits.
    workers: int = 1


class EngineSettings(_Section):
    # Empty: the gateway starts the SGLang *simulator* (tests and demos only) and says so.
    urls: tuple[str, ...] = ()
    api_key: str | None = None
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 600.0
    max_connections: int = 256
    # Site names for served models, alias -> the name the engine serves ("gpt-4" = "deepseek-ai/
    # DeepSeek-V3"). A request may name a served model or an alias; the engine gets the served name.
    model_aliases: dict[str, str] = msgspec.field(default_factory=dict)
    # Simulator settings, used only when no engine URL is configured.
    sim_port: int = 0
    sim_ttft_ms: float = 0.0
    sim_tpot_ms: float = 0.0


class StorageSettings(_Section):
    # Empty: SQLite file ``<data_dir>/gateway.db`` (WAL, synchronous=FULL).
    url: str = ""


class PolicySettings(_Section):
    # Site policy directory; files there overlay the shipped defaults in ``policies/defaults``.
    dir: str = ""


class PIISettings(_Section):
    enabled: bool = True
    # Run NER (names) on whole non-streaming answers too, not only pattern recognizers (~2-4 ms).
    answer_ner: bool = True
    # Look for names (NER) in streamed answers too: a clause that could hold a name is held until
    # it ends, so text arrives clause by clause instead of token by token. Off: identifiers only.
    stream_ner: bool = False
    # Time limit of one detection step, from when it starts running; an overrun step is stopped.
    timeout_s: float = 5.0
    # Detection steps running at once (0: one per CPU); more wait their turn, at most queue_timeout_s.
    # Principals take turns: one principal's queued steps do not hold another's back.
    max_parallel: int = 0
    queue_timeout_s: float = 30.0
    # A request whose strings (object keys included) hold more characters than this is refused with
    # 413 before any detection. Detection reads 20,000-40,000 characters a second on one core when
    # every line has a name, so much more text could not be scanned within timeout_s anyway.
    max_text_chars: int = 200_000
    cache_entries: int = 20_000


class AuditSettingsSection(_Section):
    checkpoint_every: int = 100
    checkpoint_interval_s: float = 30.0
    # Empty: ``<data_dir>/audit-checkpoints.jsonl`` (keep it outside the database host in production).
    checkpoint_file: str = ""


class AuthSettings(_Section):
    # How long the previous secret of a rotated API key keeps working.
    key_rotate_grace_s: int = 24 * 3600
    # Successful API key checks are remembered this long; a revocation made on another replica
    # takes effect within it (0: every request reads the key store).
    key_cache_ttl_s: float = 5.0
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_jwks_file: str = ""
    jwt_jwks_url: str = ""
    jwt_algorithms: tuple[str, ...] = ("RS256", "ES256", "PS256", "Ed25519")
    jwt_roles_claim: str = "realm_access.roles"
    jwt_tenant_claim: str = ""
    jwt_role_map: dict[str, str] = msgspec.field(default_factory=dict)


class RateLimitSettings(_Section):
    # Empty: limits live in this process's memory (one gateway process). Set for several replicas.
    redis_url: str = ""


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    data_dir: str = "./var"
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    engine: EngineSettings = msgspec.field(default_factory=EngineSettings)
    storage: StorageSettings = msgspec.field(default_factory=StorageSettings)
    policy: PolicySettings = msgspec.field(default_factory=PolicySettings)
    pii: PIISettings = msgspec.field(default_factory=PIISettings)
    audit: AuditSettingsSection = msgspec.field(default_factory=AuditSettingsSection)
    auth: AuthSettings = msgspec.field(default_factory=AuthSettings)
    ratelimit: RateLimitSettings = msgspec.field(default_factory=RateLimitSettings)
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)

    # Derived paths: one place decides where things live under the data directory.
    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def key_dir(self) -> Path:
        return self.data_path / "keys"

    @property
    def database_url(self) -> str:
        return self.storage.url or f"sqlite+aiosqlite:///{(self.data_path / 'gateway.db').resolve()}"

    @property
    def checkpoint_path(self) -> Path:
        return Path(self.audit.checkpoint_file or self.data_path / "audit-checkpoints.jsonl")

    @property
    def uses_simulator(self) -> bool:
        return not self.engine.urls


_LIST_FIELDS = {("engine", "urls"), ("auth", "jwt_algorithms")}
# "a=b,c=d" in the environment.
_MAP_FIELDS = {("auth", "jwt_role_map"), ("engine", "model_aliases")}


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        if len(path) == 1:
            out[path[0]] = value
        elif len(path) == 2:
            section, key = path
            item: Any = value
            if (section, key) in _LIST_FIELDS:
                item = [part.strip() for part in value.split(",") if part.strip()]
            elif (section, key) in _MAP_FIELDS:
                item = dict(pair.split("=", 1) for pair in value.split(",") if "=" in pair)
            out.setdefault(section, {})[key] = item
        else:
            raise ConfigError(f"{name}: expected GATEWAY_<SECTION>__<KEY>")
    return out


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def load_settings(
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build settings from the file, the environment and flag overrides, validated once.

    ``overrides`` uses the same nesting as the TOML file (``{"server": {"port": 9000}}``);
    ``None`` values in it are ignored so unset flags do not mask the file.
    """
    raw: dict[str, Any] = {}
    if config_file:
        path = Path(config_file)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    raw = _merge(raw, _env_overrides(os.environ if environ is None else environ))
    raw = _merge(raw, _drop_none(overrides or {}))
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    _check_values(settings)
    return settings


def _drop_none(tree: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            inner = _drop_none(value)
            if inner:
                out[key] = inner
        elif value is not None:
            out[key] = value
    return out


def _describe(exc: msgspec.ValidationError) -> str:
    # msgspec says "Expected `int`, got `str` - at `$.server.port`"; turn it into "server.port: ...".
    message = str(exc)
    if " - at `$." in message:
        reason, _, where = message.partition(" - at `$.")
        return f"{where.rstrip('`')}: {reason}"
    if message.startswith("Object contains unknown field"):
        return f"unknown key: {message}"
    return message


def _check_values(settings: Settings) -> None:
    checks: list[tuple[bool, str, str]] = [
        (0 <= settings.server.port <= 65535, "server.port", "must be between 0 and 65535"),
        (settings.server.max_body_bytes > 0, "server.max_body_bytes", "must be positive"),
        (1 <= settings.server.workers <= 64, "server.workers", "must be between 1 and 64"),
        (
            settings.server.workers == 1 or bool(settings.ratelimit.redis_url),
            "ratelimit.redis_url",
            "is required with more than one worker (in-memory limits would be per process)",
        ),
        (2 <= settings.server.max_json_depth <= 512, "server.max_json_depth", "must be between 2 and 512"),
        (settings.pii.timeout_s > 0, "pii.timeout_s", "must be positive"),
        (settings.pii.queue_timeout_s > 0, "pii.queue_timeout_s", "must be positive"),
        (0 <= settings.pii.max_parallel <= 256, "pii.max_parallel", "must be between 0 and 256"),
        (settings.pii.cache_entries >= 0, "pii.cache_entries", "must not be negative"),
        (settings.pii.max_text_chars > 0, "pii.max_text_chars", "must be positive"),
        (settings.audit.checkpoint_every > 0, "audit.checkpoint_every", "must be positive"),
        (settings.engine.max_connections > 0, "engine.max_connections", "must be positive"),
    ]
    checks.extend(_model_alias_checks(settings.engine.model_aliases))
    for url in settings.engine.urls:
        checks.append((url.startswith(("http://", "https://")), "engine.urls", "must be http(s) URLs"))
    if settings.storage.url:
        checks.append(
            (
                settings.storage.url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")),
                "storage.url",
                "must be sqlite+aiosqlite:// or postgresql+asyncpg://",
            )
        )
    for ok, key, reason in checks:
        if not ok:
            raise ConfigError(f"{key}: {reason}")


def _model_alias_checks(aliases: Mapping[str, str]) -> list[tuple[bool, str, str]]:
    def valid(name: str) -> bool:
        return 0 < len(name) <= 256 and name.isprintable() and name == name.strip()

    checks: list[tuple[bool, str, str]] = []
    for alias, served in aliases.items():
        key = f"engine.model_aliases[{alias!r}]"
        checks.append(
            (valid(alias) and valid(served), key, "names are 1 to 256 printable characters, unpadded")
        )
        checks.append((alias != served, key, "an alias must differ from the name it stands for"))
        checks.append((served not in aliases, key, "must name a served model, not another alias"))
    return checks
