"""Redis rate limiter on the real server at 127.0.0.1:6379: replicas share one count."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from gateway.auth.ratelimit import RateLimiterUnavailable, RedisRateLimiter

pytestmark = pytest.mark.redis


@pytest.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    name = f"gwtest:{uuid.uuid4().hex}:"
    yield name
    cleaner = RedisRateLimiter(redis_url)
    keys = [k async for k in cleaner._redis.scan_iter(match=name + "*")]
    if keys:
        await cleaner._redis.delete(*keys)
    await cleaner.aclose()


async def test_two_replicas_share_the_request_count(redis_url: str, prefix: str) -> None:
    a, b = RedisRateLimiter(redis_url, prefix=prefix), RedisRateLimiter(redis_url, prefix=prefix)
    try:
        assert (await a.hit("key1", 3)).allowed
        assert (await b.hit("key1", 3)).allowed
        assert (await a.hit("key1", 3)).remaining == 0
        refused = await b.hit("key1", 3)
        assert not refused.allowed
        assert 1 <= refused.retry_after_s <= 60
        assert (await b.hit("key2", 3)).allowed
    finally:
        await a.aclose()
        await b.aclose()


async def test_concurrent_hits_never_exceed_the_limit(redis_url: str, prefix: str) -> None:
    limiters = [RedisRateLimiter(redis_url, prefix=prefix) for _ in range(4)]
    try:
        results = await asyncio.gather(*(limiters[i % 4].hit("burst", 10) for i in range(40)))
        assert sum(r.allowed for r in results) == 10
    finally:
        for limiter in limiters:
            await limiter.aclose()


async def test_token_quota_is_shared_and_refuses_until_tomorrow(redis_url: str, prefix: str) -> None:
    a, b = RedisRateLimiter(redis_url, prefix=prefix), RedisRateLimiter(redis_url, prefix=prefix)
    try:
        assert (await a.add_tokens("key1", 700, 1000)).allowed
        assert (await b.check_tokens("key1", 1000)).remaining == 300
        over = await b.add_tokens("key1", 400, 1000)
        assert not over.allowed and 1 <= over.retry_after_s <= 86_400
        assert not (await a.check_tokens("key1", 1000)).allowed
        ttl = await a._redis.ttl(a._day_key("key1", a._clock()))
        assert 0 < ttl <= 2 * 86_400
    finally:
        await a.aclose()
        await b.aclose()


async def test_unreachable_redis_raises_rate_limiter_unavailable() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0")
    with pytest.raises(RateLimiterUnavailable):
        await limiter.hit("k", 1)
    with pytest.raises(RateLimiterUnavailable):
        await limiter.add_tokens("k", 1, 1)
    await limiter.aclose()
