"""Forwarding to the engine: the non-streaming completion, and connecting a stream.

A stream is connected before the response starts, so an unreachable engine is a 503, not a
broken stream; the relay (:mod:`gateway.pipeline.relay`) then filters it chunk by chunk.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from gateway.auth.ratelimit import record_tokens
from gateway.pipeline.context import Exchange
from gateway.pipeline.output import FilterSettings, filter_whole_answer, make_filter
from gateway.pipeline.records import append_response_record, record_failure
from gateway.pipeline.relay import StreamRelay
from gateway.pipeline.shapes import drop_logprobs
from policies.errors import DetectionUnavailable

if TYPE_CHECKING:
    from gateway.services import Services


def filter_settings(services: Services) -> FilterSettings:
    """The output filter's settings from the site's (static) settings."""
    pii = services.settings.pii
    return FilterSettings(answer_ner=pii.answer_ner, stream_ner=pii.stream_ner)


def usage_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """The ``usage`` object of an answer or chunk, when it is one."""
    usage = body.get("usage")
    return usage if isinstance(usage, dict) else None


def total_tokens(usage: dict[str, Any] | None) -> int:
    """``usage.total_tokens`` as an int (0 when absent)."""
    return int((usage or {}).get("total_tokens") or 0)


async def complete(services: Services, exchange: Exchange) -> dict[str, Any]:
    """Forward a non-streaming request, filter the answer, commit the response record, charge the
    tokens, and only then return the body."""
    context = exchange.context
    try:
        answer = await services.engine.post_json(context.route.path, exchange.forwarded)
    except Exception as exc:
        await record_failure(services.audit, context, exc)
        raise
    settings = filter_settings(services)
    filt = make_filter(exchange, settings, streaming=False)
    drop_logprobs(answer)
    raw: dict[str, dict[str, str]] = {}

    def filter_answer() -> None:
        raw.update(filter_whole_answer(answer, filt))

    try:
        if context.detector is not None and settings.answer_ner:
            # NER on a whole answer takes milliseconds: keep it off the event loop, bounded in time.
            await services.pii_pool.run(filter_answer)
        else:
            # Output rules and pattern recognizers only, as a stream runs them chunk by chunk on
            # the loop: cheaper than the hop to a pool thread (issue 20).
            filter_answer()
    except Exception as exc:
        await record_failure(services.audit, context, exc, answer=raw)
        if isinstance(exc, DetectionUnavailable):
            raise DetectionUnavailable("PII detection on the answer failed") from None
        raise
    usage = usage_of(answer)
    await append_response_record(
        services.audit,
        context,
        decision="block" if filt.blocked else "allow",
        answer=raw,
        usage=usage,
        delivered="blocked" if filt.blocked else "complete",
        decisions=filt.decisions,
    )
    await record_tokens(services.limiter, context.principal, context.authz.limits, total_tokens(usage))
    return answer


async def open_stream(services: Services, exchange: Exchange) -> AsyncGenerator[bytes, None]:
    """Connect to the engine, then return the generator of filtered SSE frames.

    The upstream connection is closed when the generator is closed (client disconnect), which
    cancels the generation on the worker.
    """
    context = exchange.context
    asked = exchange.forwarded.get("stream_options") or {}
    # Always ask for usage so the audit record and token quotas have it; strip it if not asked for.
    upstream_body = {**exchange.forwarded, "stream_options": {**asked, "include_usage": True}}
    stack = contextlib.AsyncExitStack()
    try:
        events = await stack.enter_async_context(services.engine.stream(context.route.path, upstream_body))
    except Exception as exc:
        await stack.aclose()
        await record_failure(services.audit, context, exc)
        raise
    relay = StreamRelay(
        services,
        exchange,
        make_filter(exchange, filter_settings(services)),
        client_wants_usage=bool(asked.get("include_usage")),
    )
    return relay.frames(stack, events)
