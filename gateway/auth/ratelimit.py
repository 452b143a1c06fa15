"""Request rate limits and daily token quotas, in memory (one process) or in Redis (replicas).

Requests per minute use a sliding log: a request is allowed when fewer than ``limit``
requests were allowed in the past 60 s, and a refused one is told exactly when the oldest
of those leaves the window. Refused requests are not counted, so a client that retries
after ``retry_after_s`` gets in. Tokens per day use a fixed window per UTC calendar day:
``check_tokens`` before a request (refused once the day's quota is used up), ``add_tokens``
after it with the usage the engine reported. The gateway answers a refusal with HTTP 429
and ``Retry-After: retry_after_s``.

A request is held to two kinds of limit (:class:`LimitPlan`, taken from the policy snapshot
the request was authorized against): its credential's own (the most generous of its granting
roles', counted under :func:`limit_key`) and each granting role's ceiling shared by all of that
role's callers (counted under ``role:<name>``). :func:`enforce` applies both before a request,
:func:`record_tokens` charges the engine's reported usage to both after it.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from policies.rbac import Principal, RateLimits, RBACPolicy, effective_rate_limits, granting_roles

WINDOW_S = 60
DAY_S = 86_400


@dataclass(frozen=True)
class LimitResult:
    """``retry_after_s`` is 0 when allowed, else whole seconds (at least 1) until a retry can pass."""

    allowed: bool
    retry_after_s: int = 0
    limit: int | None = None
    remaining: int | None = None


class RateLimiterUnavailable(RuntimeError):
    """The shared limiter store cannot be reached; the gateway decides to fail open or closed."""


class RateLimiter(Protocol):
    """What the gateway needs from a limiter."""

    async def hit(self, key: str, limit_per_minute: int) -> LimitResult:
        """Count a request under ``key`` unless ``limit_per_minute`` were allowed in the last 60 s."""
        ...

    async def check_tokens(self, key: str, limit_per_day: int) -> LimitResult:
        """Whether ``key`` still has token quota left today (UTC)."""
        ...

    async def add_tokens(self, key: str, tokens: int, limit_per_day: int) -> LimitResult:
        """Add used tokens to today's count; ``allowed`` is False once the quota is exceeded."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def limit_key(principal: Principal) -> str:
    """The per-credential counter key: API key id or JWT subject, namespaced by method."""
    return f"{principal.auth_method}:{principal.id}"


def _seconds_to_next_day(now: float) -> int:
    return max(1, math.ceil((math.floor(now / DAY_S) + 1) * DAY_S - now))


async def check_request(limiter: RateLimiter, principal: Principal, limits: RateLimits) -> LimitResult:
    """Apply a principal's limits before a request: the daily token quota, then one request hit.

    Returns the first refusal, or an allowed result (with the request counted).
    """
    key = limit_key(principal)
    if limits.tokens_per_day is not None:
        tokens = await limiter.check_tokens(key, limits.tokens_per_day)
        if not tokens.allowed:
            return tokens
    if limits.requests_per_minute is not None:
        return await limiter.hit(key, limits.requests_per_minute)
    return LimitResult(True)


@dataclass(frozen=True)
class RoleCeiling:
    """Limits shared by every caller of one role (``None`` = no ceiling)."""

    role: str
    requests_per_minute: int | None
    tokens_per_day: int | None

    @property
    def key(self) -> str:
        return f"role:{self.role}"


@dataclass(frozen=True)
class LimitPlan:
    """Every limit one request is held to: its credential's and its granting roles' ceilings."""

    credential: RateLimits
    ceilings: tuple[RoleCeiling, ...] = ()


def plan_limits(policy: RBACPolicy, principal: Principal, permission: str) -> LimitPlan:
    """The limits for ``principal`` using ``permission`` under ``policy`` (pure; read once per request)."""
    ceilings = tuple(
        RoleCeiling(role.name, role.role_requests_per_minute, role.role_tokens_per_day)
        for role in granting_roles(policy, principal, permission)
        if role.role_requests_per_minute is not None or role.role_tokens_per_day is not None
    )
    return LimitPlan(effective_rate_limits(policy, principal, permission), ceilings)


async def enforce(limiter: RateLimiter, principal: Principal, plan: LimitPlan) -> LimitResult:
    """Count one request against every limit of ``plan``, the credential's first; returns the first
    refusal (the gateway answers 429 with its ``retry_after_s``), else an allowed result.

    Raises :class:`RateLimiterUnavailable` when a shared store cannot be reached (fail closed).
    """
    result = await check_request(limiter, principal, plan.credential)
    if not result.allowed:
        return result
    for ceiling in plan.ceilings:
        if ceiling.tokens_per_day is not None:
            result = await limiter.check_tokens(ceiling.key, ceiling.tokens_per_day)
            if not result.allowed:
                return result
        if ceiling.requests_per_minute is not None:
            result = await limiter.hit(ceiling.key, ceiling.requests_per_minute)
            if not result.allowed:
                return result
    return LimitResult(True)


async def record_tokens(limiter: RateLimiter, principal: Principal, plan: LimitPlan, total: int) -> None:
    """Charge ``total`` used tokens to the credential's daily quota and each role ceiling's."""
    if total <= 0:
        return
    if plan.credential.tokens_per_day is not None:
        await limiter.add_tokens(limit_key(principal), total, plan.credential.tokens_per_day)
    for ceiling in plan.ceilings:
        if ceiling.tokens_per_day is not None:
            await limiter.add_tokens(ceiling.key, total, ceiling.tokens_per_day)


class MemoryRateLimiter:
    """Limits for a single process. ``clock`` (epoch seconds) is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._tokens: dict[str, tuple[int, int]] = {}  # key -> (UTC day number, tokens used)
        self._calls = 0

    async def hit(self, key: str, limit_per_minute: int) -> LimitResult:
        now = self._clock()
        self._maybe_prune(now)
        log = self._hits.setdefault(key, deque())
        while log and log[0] <= now - WINDOW_S:
            log.popleft()
        if len(log) < limit_per_minute:
            log.append(now)
            return LimitResult(True, 0, limit_per_minute, limit_per_minute - len(log))
        retry = max(1, math.ceil(log[0] + WINDOW_S - now))
        return LimitResult(False, retry, limit_per_minute, 0)

    def _used_today(self, key: str, now: float) -> int:
        day, used = self._tokens.get(key, (-1, 0))
        return used if day == int(now // DAY_S) else 0

    async def check_tokens(self, key: str, limit_per_day: int) -> LimitResult:
        now = self._clock()
        used = self._used_today(key, now)
        if used < limit_per_day:
            return LimitResult(True, 0, limit_per_day, limit_per_day - used)
        return LimitResult(False, _seconds_to_next_day(now), limit_per_day, 0)

    async def add_tokens(self, key: str, tokens: int, limit_per_day: int) -> LimitResult:
        now = self._clock()
        used = self._used_today(key, now) + max(0, tokens)
        self._tokens[key] = (int(now // DAY_S), used)
        if used <= limit_per_day:
            return LimitResult(True, 0, limit_per_day, limit_per_day - used)
        return LimitResult(False, _seconds_to_next_day(now), limit_per_day, 0)

    def _maybe_prune(self, now: float) -> None:
        # Drop idle keys now and then so memory follows active callers, not all callers ever seen.
        self._calls += 1
        if self._calls % 1024:
            return
        for key in [k for k, log in self._hits.items() if not log or log[-1] <= now - WINDOW_S]:
            del self._hits[key]
        today = int(now // DAY_S)
        for key in [k for k, (day, _) in self._tokens.items() if day != today]:
            del self._tokens[key]

    async def aclose(self) -> None:
        return None


# Sliding log in one atomic script, on the Redis server's clock so replicas agree.
_HIT_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, now .. '-' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0, limit - count - 1}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now, 0}
"""


class RedisRateLimiter:
    """Limits shared by every gateway replica through one Redis server.

    ``prefix`` namespaces the keys (tests use a unique one). Redis errors raise
    :class:`RateLimiterUnavailable`.
    """

    def __init__(self, url: str, *, prefix: str = "gw:rl:", clock: Callable[[], float] = time.time) -> None:
        self._redis = aioredis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._prefix = prefix
        self._clock = clock
        self._hit = self._redis.register_script(_HIT_SCRIPT)

    def __repr__(self) -> str:
        return f"RedisRateLimiter(prefix={self._prefix!r})"

    async def hit(self, key: str, limit_per_minute: int) -> LimitResult:
        try:
            allowed, retry_ms, remaining = await self._hit(
                keys=[f"{self._prefix}rpm:{key}"],
                args=[limit_per_minute, WINDOW_S * 1000, secrets.token_hex(6)],
            )
        except RedisError as exc:
            raise RateLimiterUnavailable(f"redis: {type(exc).__name__}") from exc
        if int(allowed):
            return LimitResult(True, 0, limit_per_minute, int(remaining))
        return LimitResult(False, max(1, math.ceil(int(retry_ms) / 1000)), limit_per_minute, 0)

    def _day_key(self, key: str, now: float) -> str:
        return f"{self._prefix}tpd:{key}:{int(now // DAY_S)}"

    async def check_tokens(self, key: str, limit_per_day: int) -> LimitResult:
        now = self._clock()
        try:
            raw = await self._redis.get(self._day_key(key, now))
        except RedisError as exc:
            raise RateLimiterUnavailable(f"redis: {type(exc).__name__}") from exc
        used = int(raw or 0)
        if used < limit_per_day:
            return LimitResult(True, 0, limit_per_day, limit_per_day - used)
        return LimitResult(False, _seconds_to_next_day(now), limit_per_day, 0)

    async def add_tokens(self, key: str, tokens: int, limit_per_day: int) -> LimitResult:
        now = self._clock()
        day_key = self._day_key(key, now)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incrby(day_key, max(0, tokens))
                pipe.expire(day_key, 2 * DAY_S)
                used, _ = await pipe.execute()
        except RedisError as exc:
            raise RateLimiterUnavailable(f"redis: {type(exc).__name__}") from exc
        used = int(used)
        if used <= limit_per_day:
            return LimitResult(True, 0, limit_per_day, limit_per_day - used)
        return LimitResult(False, _seconds_to_next_day(now), limit_per_day, 0)

    async def aclose(self) -> None:
        await self._redis.aclose()
