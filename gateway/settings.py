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
from typing import Annotated, Any, Literal

import msgspec

from policies.documents import describe_validation_error

ENV_PREFIX = "GATEWAY_"

# Constrained value types: a value outside them stops the start with the key and the bound.
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
Seconds = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
HttpUrl = Annotated[str, msgspec.Meta(pattern=r"^https?://")]
DatabaseUrl = Annotated[str, msgspec.Meta(pattern=r"^(sqlite\+aiosqlite://|postgresql\+asyncpg://|$)")]


class ConfigError(Exception):
    """The configuration is invalid; the message names the key and the reason."""


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class ServerSettings(_Section, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Port = 8080
    # Bodies above this size are refused with 413 before they are parsed.
    max_body_bytes: PositiveInt = 4 * 1024 * 1024
    # JSON nesting deeper than this is refused with 400 (chat bodies are shallow).
    max_json_depth: Annotated[int, msgspec.Meta(ge=2, le=512)] = 64
    # Gateway processes sharing the port. More than one needs Redis for rate limits.
    workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1


class EngineSettings(_Section, frozen=True, kw_only=True):
    # Empty: the gateway starts the SGLang *simulator* (tests and demos only) and says so.
    urls: tuple[HttpUrl, ...] = ()
    api_key: str | None = None
    connect_timeout_s: Seconds = 5.0
    read_timeout_s: Seconds = 600.0
    max_connections: PositiveInt = 256
    # Site names for served models, alias -> the name the engine serves ("gpt-4" = "deepseek-ai/
    # DeepSeek-V3"). A request may name a served model or an alias; the engine gets the served name.
    model_aliases: dict[str, str] = msgspec.field(default_factory=dict)
    # "pool": the gateway balances over engine.urls itself (health checks, circuit breakers, load).
    # "router": engine.urls is one sglang-router, which balances over the workers (docs/engine.md).
    mode: Literal["pool", "router"] = "pool"
    # Active health checks (GET /health, and /metrics when metrics_weighting) of every upstream.
    health_interval_s: Annotated[float, msgspec.Meta(ge=0.1, le=3600)] = 5.0
    health_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 2.0
    # Consecutive failed requests that open a worker's circuit, and how long it stays open before
    # one trial request may pass (pool mode only).
    failure_threshold: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 3
    cooldown_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 10.0
    # Requests in flight per upstream (0: no bound); beyond it requests wait in a queue of
    # queue_size for at most queue_timeout_s, then 429 with Retry-After.
    max_in_flight_per_worker: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 256
    queue_size: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 256
    queue_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=600)] = 10.0
    # Weigh the choice by the workers' sglang:num_running_reqs and sglang:num_queue_reqs gauges.
    metrics_weighting: bool = True
    # Simulator settings, used only when no engine URL is configured.
    sim_port: Port = 0
    sim_ttft_ms: NonNegativeFloat = 0.0
    sim_tpot_ms: NonNegativeFloat = 0.0


class StorageSettings(_Section, frozen=True, kw_only=True):
    # Empty: SQLite file ``<data_dir>/gateway.db`` (WAL, synchronous=FULL).
    url: DatabaseUrl = ""


class PolicySettings(_Section, frozen=True, kw_only=True):
    # Site policy directory; files there overlay the shipped defaults in ``policies/defaults``.
    dir: str = ""


class PIISettings(_Section, frozen=True, kw_only=True):
    enabled: bool = True
    # Run NER (names) on whole non-streaming answers too, not only pattern recognizers (~2-4 ms).
    answer_ner: bool = True
    # Look for names in streamed answers with the name rules (no NER): only a name in progress (a
    # run of capitalized words) is held, until the next lower-case word; Chinese clause by clause.
    stream_names: bool = True
    # Look for names with NER in streamed answers instead: a clause that could hold a name is held
    # until it ends, so text arrives clause by clause instead of token by token.
    stream_ner: bool = False
    # Time limit of one detection step, from when it starts running; an overrun step is stopped.
    timeout_s: Seconds = 5.0
    # Detection steps running at once (0: one per CPU); more wait their turn, at most queue_timeout_s.
    # Principals take turns: one principal's queued steps do not hold another's back.
    max_parallel: Annotated[int, msgspec.Meta(ge=0, le=256)] = 0
    queue_timeout_s: Seconds = 30.0
    # A detection step over at most this many characters runs on the event loop when no step waits
    # for a pool thread (0: never): the hand-off to a thread and back cost more than detecting a
    # short prompt (docs/benchmarks.md, issue 20). Up to 1,000 characters of unknown names took
    # 7.5 ms at the median here, so a step run this way holds the loop for a few milliseconds.
    inline_max_chars: NonNegativeInt = 1_000
    # A request whose strings (object keys included) hold more characters than this is refused with
    # 413 before any detection. Detection reads 20,000-40,000 characters a second on one core when
    # every line has a name, so much more text could not be scanned within timeout_s anyway.
    max_text_chars: PositiveInt = 200_000
    cache_entries: NonNegativeInt = 20_000


class AuditSettingsSection(_Section, frozen=True, kw_only=True):
    checkpoint_every: PositiveInt = 100
    checkpoint_interval_s: Seconds = 30.0
    # Empty: ``<data_dir>/audit-checkpoints.jsonl`` (keep it outside the database host in production).
    checkpoint_file: str = ""
    # Key-ring snapshots older than this are deleted by `gateway keyring prune` (and by each new
    # snapshot): an erasure is complete for database backups once they are gone.
    keyring_snapshot_max_age_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 30


class AuthSettings(_Section, frozen=True, kw_only=True):
    # How long the previous secret of a rotated API key keeps working.
    key_rotate_grace_s: NonNegativeInt = 24 * 3600
    # Successful API key checks are remembered this long; a revocation made on another replica
    # takes effect within it (0: every request reads the key store).
    key_cache_ttl_s: NonNegativeFloat = 5.0
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_jwks_file: str = ""
    jwt_jwks_url: str = ""
    jwt_algorithms: tuple[str, ...] = ("RS256", "ES256", "PS256", "Ed25519")
    jwt_roles_claim: str = "realm_access.roles"
    jwt_tenant_claim: str = ""
    jwt_role_map: dict[str, str] = msgspec.field(default_factory=dict)


class RateLimitSettings(_Section, frozen=True, kw_only=True):
    # Empty: limits live in this process's memory (one gateway process). Set for several replicas.
    redis_url: str = ""


class RetentionSettings(_Section, frozen=True, kw_only=True):
    # Seconds between the gateway's own retention runs (0: none; run `gateway retention run`
    # or POST /admin/retention/run instead). The first run comes one interval after start.
    schedule_interval_s: NonNegativeFloat = 0.0
    # Records per erasure transaction of a scheduled run: the gateway keeps serving between them.
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1000


class LoggingSettings(_Section, frozen=True, kw_only=True):
    level: Literal["debug", "info", "warning", "error"] = "info"


class ObservabilitySettings(_Section, frozen=True, kw_only=True):
    # OTLP over HTTP (traces, and metrics with otlp_metrics): the collector's base URL, to which
    # /v1/traces and /v1/metrics are added. Empty: nothing is exported and nothing is sent anywhere.
    otlp_endpoint: Annotated[str, msgspec.Meta(pattern=r"^(https?://\S+)?$")] = ""
    # Sent with every export (a collector's credentials); never logged.
    otlp_headers: dict[str, str] = msgspec.field(default_factory=dict)
    # PEM file of the CA that signs the collector's certificate (empty: the system's CAs), and a
    # client certificate and key for mutual TLS.
    otlp_ca_file: str = ""
    otlp_client_cert_file: str = ""
    otlp_client_key_file: str = ""
    otlp_timeout_s: Seconds = 10.0
    otlp_metrics: bool = False
    otlp_metrics_interval_s: Annotated[float, msgspec.Meta(ge=1)] = 30.0
    # Share of new traces recorded (a caller's sampled traceparent is always followed).
    trace_sample_ratio: Annotated[float, msgspec.Meta(ge=0, le=1)] = 1.0
    service_name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")] = "compliance-gateway"
    # 0: GET /metrics on the gateway's own port (permission metrics:read). Otherwise a separate
    # listener on 127.0.0.1 at this port serves the metrics without a credential, and the
    # gateway's port answers /metrics with 404.
    metrics_port: Port = 0
    # Server-Timing header (gateway, upstream, pii, audit durations) on proxied answers.
    server_timing: bool = True


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
    retention: RetentionSettings = msgspec.field(default_factory=RetentionSettings)
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    observability: ObservabilitySettings = msgspec.field(default_factory=ObservabilitySettings)

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
_MAP_FIELDS = {("auth", "jwt_role_map"), ("engine", "model_aliases"), ("observability", "otlp_headers")}


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
        # The key and msgspec's reason (types and bounds), never the value: it may be a secret.
        key, reason = describe_validation_error(exc, raw, Settings, strict=False)
        raise ConfigError(f"{key}: {reason}") from None
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


def _check_values(settings: Settings) -> None:
    # What the field types cannot say: rules that join two fields or look at mapping entries.
    checks: list[tuple[bool, str, str]] = [
        (
            settings.server.workers == 1 or bool(settings.ratelimit.redis_url),
            "ratelimit.redis_url",
            "is required with more than one worker (in-memory limits would be per process)",
        ),
        (
            settings.engine.mode == "pool" or len(settings.engine.urls) <= 1,
            "engine.urls",
            "takes exactly one URL (the router's) when engine.mode is router",
        ),
        (
            settings.engine.health_timeout_s <= settings.engine.health_interval_s,
            "engine.health_timeout_s",
            "must not exceed engine.health_interval_s",
        ),
        (
            settings.retention.schedule_interval_s == 0 or settings.retention.schedule_interval_s >= 1,
            "retention.schedule_interval_s",
            "is 0 (no scheduled runs) or at least 1 second",
        ),
        (
            settings.retention.schedule_interval_s == 0 or settings.server.workers == 1,
            "retention.schedule_interval_s",
            "needs a single worker (each worker process would run its own schedule)",
        ),
        (
            settings.server.workers == 1 or not settings.observability.metrics_port,
            "observability.metrics_port",
            "needs a single worker (each worker process has its own metrics)",
        ),
        (
            not settings.observability.metrics_port
            or settings.observability.metrics_port != settings.server.port,
            "observability.metrics_port",
            "must differ from server.port",
        ),
    ]
    checks.extend(_model_alias_checks(settings.engine.model_aliases))
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
