"""Forwarding to the engine: the non-streaming completion, and connecting a stream.

A stream is connected before the response starts, so an unreachable engine is a 503, not a
broken stream; the relay (:mod:`gateway.pipeline.relay`) then filters it chunk by chunk.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import SpanKind

from gateway.auth.ratelimit import record_tokens
from gateway.observability.request import RequestObservation, Step, current_observation
from gateway.pipeline.context import Exchange
from gateway.pipeline.observe import (
    genai_request_attributes,
    genai_response_attributes,
    observe_detection_of_answer,
    observe_usage,
    server_attributes,
)
from gateway.pipeline.output import FilterSettings, answer_chars, filter_whole_answer, make_filter
from gateway.pipeline.records import append_response_record, record_failure
from gateway.pipeline.relay import StreamRelay
from gateway.pipeline.shapes import drop_logprobs
from policies.errors import DetectionUnavailable

if TYPE_CHECKING:
    from gateway.services import Services


def filter_settings(services: Services) -> FilterSettings:
    """The output filter's settings from the site's (static) settings."""
    pii = services.settings.pii
    return FilterSettings(answer_ner=pii.answer_ner, stream_names=pii.stream_names, stream_ner=pii.stream_ner)


def usage_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """The ``usage`` object of an answer or chunk, when it is one."""
    usage = body.get("usage")
    return usage if isinstance(usage, dict) else None


def total_tokens(usage: dict[str, Any] | None) -> int:
    """``usage.total_tokens`` as an int (0 when absent)."""
    return int((usage or {}).get("total_tokens") or 0)


def upstream_step(services: Services, exchange: Exchange, observation: RequestObservation) -> Step:
    """Start the step ``gateway.upstream`` (a CLIENT span with the GenAI attributes of the call)."""
    context = exchange.context
    step = observation.step("gateway.upstream", timing="upstream", kind=SpanKind.CLIENT)
    if step.span is not None:
        step.set_all(genai_request_attributes(context.route, context.served_model, exchange.forwarded))
        step.set("gateway.stream", context.stream)
        urls = services.settings.engine.urls
        if len(urls) == 1:  # a pool's worker is chosen later, by the engine client
            step.set_all(server_attributes(urls[0]))
    return step


def engine_headers(observation: RequestObservation, step: Step) -> dict[str, Any]:
    """Keyword arguments for the engine call: ``headers`` with the ``traceparent`` to continue
    the trace with, or none (the engine client's defaults) when there is no trace."""
    headers = observation.upstream_headers(step)
    return {"headers": headers} if headers else {}


async def complete(services: Services, exchange: Exchange) -> dict[str, Any]:
    """Forward a non-streaming request, filter the answer, commit the response record, charge the
    tokens, and only then return the body."""
    context = exchange.context
    observation = current_observation()
    step = upstream_step(services, exchange, observation)
    try:
        answer = await services.engine.post_json(
            context.route.path, exchange.forwarded, **engine_headers(observation, step)
        )
    except BaseException as exc:
        step.end(exc)
        if isinstance(exc, Exception):
            await record_failure(services.audit, context, exc)
        raise
    step.set("gateway.upstream.time_to_last_byte_s", step.elapsed())
    step.set_all(genai_response_attributes(answer))
    observe_usage(observation, step, usage_of(answer))
    step.end()
    settings = filter_settings(services)
    filt = make_filter(exchange, settings, streaming=False)
    drop_logprobs(answer)
    raw: dict[str, dict[str, str]] = {}

    def filter_answer() -> None:
        raw.update(filter_whole_answer(answer, filt))

    detecting = context.detector is not None
    filter_step = observation.step("gateway.output.filter", timing="pii" if detecting else None)
    try:
        if detecting and settings.answer_ner:
            # NER on a whole answer takes milliseconds: off the event loop, bounded in time, unless
            # the answer is short enough for the pool to run it here (pii.inline_max_chars).
            await services.pii_pool.run(filter_answer, size=answer_chars(answer))
        else:
            # Output rules and pattern recognizers only, as a stream runs them chunk by chunk on
            # the loop: cheaper than the hop to a pool thread (issue 20).
            filter_answer()
    except Exception as exc:
        filter_step.end(exc)
        if detecting:
            observe_detection_of_answer(observation, filter_step.duration_s, exc)
        await record_failure(services.audit, context, exc, answer=raw)
        if isinstance(exc, DetectionUnavailable):
            raise DetectionUnavailable("PII detection on the answer failed") from None
        raise
    except BaseException as exc:
        filter_step.end(exc)
        raise
    filter_step.set("gateway.filter.blocked", filt.blocked)
    filter_step.end()
    if detecting:
        observe_detection_of_answer(observation, filter_step.duration_s, None)
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
    observation = current_observation()
    step = upstream_step(services, exchange, observation)
    stack = contextlib.AsyncExitStack()
    try:
        events = await stack.enter_async_context(
            services.engine.stream(context.route.path, upstream_body, **engine_headers(observation, step))
        )
    except BaseException as exc:
        step.end(exc)
        await stack.aclose()
        if isinstance(exc, Exception):
            await record_failure(services.audit, context, exc)
        raise
    # What Server-Timing can say of the engine before the stream's body: its time to headers.
    observation.upstream_connect_s = step.elapsed()
    relay = StreamRelay(
        services,
        exchange,
        make_filter(exchange, filter_settings(services)),
        client_wants_usage=bool(asked.get("include_usage")),
        upstream=step,
    )
    return relay.frames(stack, events)
