"""In-memory rate limiter: sliding one-minute window, daily token quota, exact Retry-After."""

from __future__ import annotations

import pytest

from gateway.auth.ratelimit import (
    DAY_S,
    LimitPlan,
    MemoryRateLimiter,
    RoleCeiling,
    check_request,
    enforce,
    limit_key,
    plan_limits,
    record_tokens,
)
from policies.rbac import Principal, RateLimits, RBACPolicy, RoleDef


class Clock:
    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_requests_over_the_minute_limit_get_retry_after_until_the_oldest_expires() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    assert (await limiter.hit("k", 3)).remaining == 2
    clock.now += 20
    await limiter.hit("k", 3)
    await limiter.hit("k", 3)
    refused = await limiter.hit("k", 3)
    assert (refused.allowed, refused.retry_after_s) == (False, 40)
    clock.now += 40
    assert (await limiter.hit("k", 3)).allowed


async def test_refused_requests_do_not_extend_the_lockout() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    await limiter.hit("k", 1)
    for _ in range(10):
        clock.now += 5
        assert not (await limiter.hit("k", 1)).allowed
    clock.now += 10
    assert (await limiter.hit("k", 1)).allowed


async def test_keys_are_counted_separately() -> None:
    limiter = MemoryRateLimiter(Clock())
    assert (await limiter.hit("a", 1)).allowed
    assert (await limiter.hit("b", 1)).allowed
    assert not (await limiter.hit("a", 1)).allowed


async def test_daily_token_quota_refuses_until_the_next_utc_day() -> None:
    clock = Clock(DAY_S * 20_000 + DAY_S - 3600)  # 23:00 UTC
    limiter = MemoryRateLimiter(clock)
    assert (await limiter.check_tokens("k", 1000)).allowed
    assert (await limiter.add_tokens("k", 600, 1000)).remaining == 400
    over = await limiter.add_tokens("k", 600, 1000)
    assert not over.allowed and over.retry_after_s == 3600
    refused = await limiter.check_tokens("k", 1000)
    assert (refused.allowed, refused.retry_after_s) == (False, 3600)
    clock.now += 3600
    assert (await limiter.check_tokens("k", 1000)).remaining == 1000


async def test_check_request_applies_token_quota_then_request_rate() -> None:
    limiter = MemoryRateLimiter(Clock())
    principal = Principal("k1", ("service",), None, "api_key", "k1")
    limits = RateLimits(requests_per_minute=2, tokens_per_day=100)
    assert (await check_request(limiter, principal, limits)).allowed
    await limiter.add_tokens(limit_key(principal), 100, 100)
    assert not (await check_request(limiter, principal, limits)).allowed
    assert (await check_request(limiter, principal, RateLimits(None, None))).allowed


def test_limit_key_separates_api_keys_from_jwt_subjects() -> None:
    assert limit_key(Principal("x", (), None, "api_key")) != limit_key(Principal("x", (), None, "jwt"))


@pytest.mark.parametrize("limit", [1, 5, 60])
async def test_exactly_limit_requests_pass_per_minute(limit: int) -> None:
    limiter = MemoryRateLimiter(Clock())
    results = [(await limiter.hit("k", limit)).allowed for _ in range(limit + 3)]
    assert results == [True] * limit + [False] * 3


# ----------------------------------------------------------------------------- limit plans


def _role(name: str, **limits: int | None) -> RoleDef:
    return RoleDef(name=name, permissions=frozenset({"chat"}), **limits)  # type: ignore[arg-type]


def _policy(*roles: RoleDef) -> RBACPolicy:
    return RBACPolicy({role.name: role for role in roles})


def _caller(key_id: str, *roles: str) -> Principal:
    return Principal(id=key_id, roles=roles, tenant=None, auth_method="api_key")


def test_plan_takes_the_most_generous_credential_limits_and_every_role_ceiling() -> None:
    policy = _policy(
        _role("a", requests_per_minute=5, tokens_per_day=100, role_requests_per_minute=50),
        _role("b", requests_per_minute=9, tokens_per_day=None, role_tokens_per_day=1000),
        _role("c", requests_per_minute=1),
    )
    plan = plan_limits(policy, _caller("k", "a", "b"), "chat")
    assert plan.credential == RateLimits(9, None)
    assert plan.ceilings == (RoleCeiling("a", 50, None), RoleCeiling("b", None, 1000))
    assert plan_limits(policy, _caller("k", "a"), "completions") == LimitPlan(RateLimits(None, None))


async def test_a_role_ceiling_is_shared_by_every_caller_of_the_role() -> None:
    limiter = MemoryRateLimiter(Clock())
    policy = _policy(_role("service", requests_per_minute=10, role_requests_per_minute=2))
    first, second = _caller("k1", "service"), _caller("k2", "service")
    assert (await enforce(limiter, first, plan_limits(policy, first, "chat"))).allowed
    assert (await enforce(limiter, second, plan_limits(policy, second, "chat"))).allowed
    refused = await enforce(limiter, first, plan_limits(policy, first, "chat"))
    assert not refused.allowed and refused.retry_after_s == 60


async def test_used_tokens_are_charged_to_the_credential_and_its_role_ceilings() -> None:
    limiter = MemoryRateLimiter(Clock())
    policy = _policy(_role("service", tokens_per_day=100, role_tokens_per_day=150))
    first, second = _caller("k1", "service"), _caller("k2", "service")
    await record_tokens(limiter, first, plan_limits(policy, first, "chat"), 80)
    assert (await limiter.check_tokens(limit_key(first), 100)).remaining == 20
    assert (await limiter.check_tokens("role:service", 150)).remaining == 70
    await record_tokens(limiter, second, plan_limits(policy, second, "chat"), 80)
    # k2 has its own quota left, but the role's shared quota is used up.
    refused = await enforce(limiter, second, plan_limits(policy, second, "chat"))
    assert not refused.allowed
    await record_tokens(limiter, second, plan_limits(policy, second, "chat"), 0)  # nothing to charge
    assert (await limiter.check_tokens(limit_key(second), 100)).remaining == 20
