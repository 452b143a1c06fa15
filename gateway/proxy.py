"""The request path for ``/v1/chat/completions`` and ``/v1/completions``.

Order (docs/ARCHITECTURE.md, "The request path"): check that the model is served (or a site alias; before
anything names it in the audit log), authorize the model, check the data-subject header,
rate limits, injection screening, PII redaction (fail closed), commit the request audit record,
forward, filter the answer (streaming-safe), commit the response audit record, and only then
release the end of the answer (``data: [DONE]`` or the non-streaming body).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import msgspec
import structlog

from audit.errors import AuditError
from audit.records import AuditEvent
from engine.errors import EngineBadResponse, EngineUnavailable
from gateway.auth.ratelimit import check_request, limit_key
from gateway.errors import (
    InvalidRequest,
    ModelNotFound,
    RateLimited,
    SubjectRequired,
    error_body,
    to_response,
)
from gateway.guards import deny, primary_role
from gateway.services import Services
from gateway.validation import check_text_size
from policies.errors import DetectionUnavailable, PolicyViolation
from policies.output.config import compile_rules_for_role
from policies.output.injection import screen_for_injection
from policies.output.stream_filter import StreamFilter
from policies.pii.redact_body import (
    PseudonymMap,
    RedactionReport,
    aredact_chat_body,
    aredact_completion_body,
)
from policies.rbac import (
    Principal,
    RoleDef,
    authorize,
    effective_pii_profile,
    effective_rate_limits,
    has_permission,
    requires_subject,
)

log = structlog.get_logger("gateway.proxy")

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

SUBJECT_HEADER = "x-data-subject"
CONTENT_FILTER_NOTICE = "[This answer was stopped by the content policy.]"


@dataclass(frozen=True)
class Route:
    """What differs between chat and completions."""

    kind: str  # audit kind prefix: "chat" or "completions"
    permission: str
    path: str
    chunk_object: str


CHAT = Route("chat", "chat", "/v1/chat/completions", "chat.completion.chunk")
COMPLETIONS = Route("completions", "completions", "/v1/completions", "text_completion")


@dataclass
class Exchange:
    """One request's state as it moves through the pipeline. Holds content: never log it."""

    route: Route
    principal: Principal
    request_id: str
    body: dict[str, Any]
    model: str  # as the caller named it (a served model or a site alias)
    stream: bool
    subject_id: str | None
    served_model: str = ""  # the engine's name for it
    started: float = field(default_factory=time.perf_counter)
    forwarded: dict[str, Any] = field(default_factory=dict)
    pseudonyms: PseudonymMap | None = None
    report: RedactionReport | None = None
    injection_flags: list[str] = field(default_factory=list)
    authz: dict[str, object] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Exchange(route={self.route.kind}, request_id={self.request_id})"


def _subject_id(headers: Any) -> str | None:
    value = headers.get(SUBJECT_HEADER)
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > 256 or not value.isprintable():
        raise InvalidRequest(
            "X-Data-Subject must be 1 to 256 printable characters.", code="invalid_data_subject"
        )
    return str(value)


def _message_texts(body: dict[str, Any]) -> list[str]:
    """Caller-supplied text to screen for injection (system prompts are the app's own)."""
    texts: list[str] = []
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        texts.append(prompt)
    elif isinstance(prompt, list):
        texts.extend(p for p in prompt if isinstance(p, str))
    for message in body.get("messages") or ():
        if message.get("role") in ("system", "developer"):
            continue
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
        for call in message.get("tool_calls") or ():
            arguments = (call.get("function") or {}).get("arguments") if isinstance(call, dict) else None
            if isinstance(arguments, str):
                texts.append(arguments)
    for tool in body.get("tools") or ():
        description = (tool.get("function") or {}).get("description") if isinstance(tool, dict) else None
        if isinstance(description, str):
            texts.append(description)
    return texts


async def prepare(
    services: Services,
    route: Route,
    principal: Principal,
    request_id: str,
    body: dict[str, Any],
    model: str,
    stream: bool,
    headers: Any,
) -> Exchange:
    """Everything before forwarding; raises a domain error (mapped to 4xx/503) to refuse."""
    check_text_size(body, services.settings.pii.max_text_chars)  # 413 before anything reads the text
    policy = services.policy
    # First: until the name is known to be a model, it is request text (it may be anything) and
    # must not reach the audit log's model column, where the hash chain keeps it for good.
    served_model = await resolve_model(services, model)
    decision = authorize(policy.rbac, principal, route.permission, model)
    if not decision.allowed:
        await deny(services, request_id, principal, decision)  # 403 model_not_allowed for a model
    subject_id = _subject_id(headers)
    if subject_id is None and requires_subject(policy.rbac, principal):
        raise SubjectRequired("Your role must name the data subject in the X-Data-Subject header.")
    await enforce_rate_limits(services, principal, route.permission)
    exchange = Exchange(route, principal, request_id, body, model, stream, subject_id, served_model)
    exchange.authz = decision.audit_fields()
    engine_body = {**body, "model": served_model}

    findings = screen_for_injection(_message_texts(body), policy.output.injection, principal.roles)
    exchange.injection_flags = sorted({f.indicator_id for f in findings})
    blocked = sorted({f.indicator_id for f in findings if f.action == "block"})
    if blocked:
        await _append_request_record(services, exchange, decision="block")
        raise PolicyViolation(
            "The request was refused by the prompt-injection policy.",
            code="prompt_injection",
            details={"indicators": blocked},
        )

    if services.detector is not None:
        profile = policy.pii.profiles[effective_pii_profile(policy.rbac, principal)]
        redact = aredact_chat_body if route is CHAT else aredact_completion_body
        try:
            exchange.forwarded, exchange.pseudonyms, exchange.report = await redact(
                engine_body,
                services.detector,
                profile,
                services.pii_pool,
                models={served_model},
                owner=principal.id,
            )
        except PolicyViolation as exc:
            await _append_request_record(
                services, exchange, decision="block", extra={"pii_block": exc.details}
            )
            raise
    else:
        exchange.forwarded = engine_body
    await _append_request_record(services, exchange, decision="allow")
    return exchange


async def resolve_model(services: Services, model: str) -> str:
    """The engine's name for ``model``: a model the engine lists, or a site alias of one
    (``engine.model_aliases``). Anything else is 404 ``model_not_found``; with no model list to
    check against (engine unreachable, nothing cached) it is 503, never accepted unchecked."""
    served = services.settings.engine.model_aliases.get(model, model)
    if not await services.engine.models.is_served(served):
        if served != model:
            log.warning("model.alias_not_served", alias=model)
        # The message does not repeat the name: it is not known to be a model name.
        raise ModelNotFound("The requested model does not exist or is not served here.", param="model")
    return served


async def enforce_rate_limits(services: Services, principal: Principal, permission: str) -> None:
    """Per credential: the most generous limits of the caller's granting roles; per role: shared
    ceilings (``role_requests_per_minute`` / ``role_tokens_per_day``). Refusal: 429 + Retry-After."""
    limits = effective_rate_limits(services.policy.rbac, principal, permission)
    result = await check_request(services.limiter, principal, limits)
    if result.allowed:
        for role in _granting_roles(services, principal, permission):
            if role.role_tokens_per_day is not None:
                result = await services.limiter.check_tokens(f"role:{role.name}", role.role_tokens_per_day)
                if not result.allowed:
                    break
            if role.role_requests_per_minute is not None:
                result = await services.limiter.hit(f"role:{role.name}", role.role_requests_per_minute)
                if not result.allowed:
                    break
    if not result.allowed:
        raise RateLimited("Rate limit or token quota exceeded; retry later.", result.retry_after_s)


def _granting_roles(services: Services, principal: Principal, permission: str) -> list[RoleDef]:
    return [r for r in services.policy.rbac.known_roles(principal) if permission in r.permissions]


async def _record_tokens(services: Services, exchange: Exchange, usage: dict[str, Any] | None) -> None:
    total = int((usage or {}).get("total_tokens") or 0)
    if not total:
        return
    principal = exchange.principal
    permission = exchange.route.permission
    limits = effective_rate_limits(services.policy.rbac, principal, permission)
    if limits.tokens_per_day is not None:
        await services.limiter.add_tokens(limit_key(principal), total, limits.tokens_per_day)
    for role in _granting_roles(services, principal, permission):
        if role.role_tokens_per_day is not None:
            await services.limiter.add_tokens(f"role:{role.name}", total, role.role_tokens_per_day)


def _event(exchange: Exchange, stage: str, decision: str, **fields: Any) -> AuditEvent:
    """An audit event for this exchange; ``stage`` is "request" or "response"."""
    return AuditEvent(
        kind=f"{exchange.route.kind}.{stage}",
        principal=exchange.principal.id,
        role=primary_role(exchange.principal),
        model=exchange.model,
        request_id=exchange.request_id,
        subject_id=exchange.subject_id,
        decision=decision,
        tenant=exchange.principal.tenant,
        **fields,
    )


async def _append_request_record(
    services: Services,
    exchange: Exchange,
    decision: str,
    extra: dict[str, Any] | None = None,
) -> None:
    report = exchange.report
    payload: dict[str, Any] = {
        "request": exchange.body,
        "pseudonyms": exchange.pseudonyms.token_to_value if exchange.pseudonyms else {},
        "injection_flags": exchange.injection_flags,
        "authz": exchange.authz,
    }
    if exchange.served_model and exchange.served_model != exchange.model:
        payload["served_model"] = exchange.served_model
    if report is not None:
        payload["pii_actions"] = dict(report.actions)
    if extra:
        payload.update(extra)
    await services.audit.append(
        _event(
            exchange,
            "request",
            decision,
            entity_counts=dict(report.entity_counts) if report else {},
            payload=payload,
        )
    )


async def _append_response_record(
    services: Services,
    exchange: Exchange,
    *,
    decision: str,
    answer: dict[str, Any],
    usage: dict[str, Any] | None,
    delivered: str,
    decisions: Sequence[Any],
) -> None:
    counts: dict[str, int] = {}
    for d in decisions:
        counts[f"{d.action}:{d.rule_id}"] = counts.get(f"{d.action}:{d.rule_id}", 0) + d.count
    await services.audit.append(
        _event(
            exchange,
            "response",
            decision,
            entity_counts=counts,
            usage={k: int(v) for k, v in (usage or {}).items() if isinstance(v, int)},
            latency_ms=round((time.perf_counter() - exchange.started) * 1000, 3),
            payload={
                "answer": answer,
                "delivered": delivered,
                "filter_decisions": [
                    {"rule_id": d.rule_id, "action": d.action, "count": d.count} for d in decisions
                ],
            },
        )
    )


def make_filter(services: Services, exchange: Exchange, *, streaming: bool = True) -> StreamFilter:
    """The output filter for this caller: restore only with ``pii:unmask``; redact leaked PII.

    Only the tokens this request issued are tokens; any other token shape in the answer is text.
    Streams look for structured identifiers only (per-chunk budget) unless ``pii.stream_ner`` adds
    NER clause by clause; whole answers get the full detector, NER included, over all their text
    when ``pii.answer_ner`` is on, so names the model produced on its own are caught there too.
    """
    policy = services.policy
    principal = exchange.principal
    rules = compile_rules_for_role(policy.output, principal.roles)
    restore = None
    issued: tuple[str, ...] = ()
    if exchange.pseudonyms is not None:
        issued = tuple(exchange.pseudonyms.token_to_value)
        if has_permission(policy.rbac, principal, "pii:unmask"):
            restore = exchange.pseudonyms.token_to_value
    detector: Callable[[str], Sequence[Any]] | None = None
    names: Callable[[str], Sequence[Any]] | None = None
    max_len = 0
    whole_ner = not streaming and services.settings.pii.answer_ner
    if services.detector is not None:
        profile = policy.pii.profiles[effective_pii_profile(policy.rbac, principal)]

        def unless_allowed(detect: Callable[[str], Sequence[Any]]) -> Callable[[str], Sequence[Any]]:
            return lambda text: [f for f in detect(text) if profile.action_for(f.entity_type) != "allow"]

        full = services.detector.detect
        detector = unless_allowed(full if whole_ner else services.detector.detect_patterns_only)
        if streaming and services.settings.pii.stream_ner:
            names = unless_allowed(full)
        max_len = services.detector.max_pattern_length
    return StreamFilter(
        rules,
        restore,
        detector=detector,
        max_entity_len=max_len,
        name_detector=names,
        issued_tokens=issued,
        detector_scans_prose=whole_ner,
    )


# ----------------------------------------------------------------------------- non-streaming


async def complete(services: Services, exchange: Exchange) -> dict[str, Any]:
    """Forward a non-streaming request, filter the answer, audit it, return the body."""
    try:
        answer = await services.engine.post_json(exchange.route.path, exchange.forwarded)
    except Exception as exc:
        await _record_failure(services, exchange, exc)
        raise
    filt = make_filter(services, exchange, streaming=False)
    raw: dict[str, Any] = {}

    _drop_logprobs(answer)

    def filter_answer() -> None:
        for choice in answer.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            targets = _text_fields(choice, streaming=False)
            raw[str(index)] = {name: value for name, (value, _setter) in targets.items()}
            for name, (value, setter) in targets.items():
                # The whole field in one piece: the detector (NER too) sees all of it at once.
                setter(filt.feed(f"{index}.{name}", value, last=True).text)
            if filt.blocked:
                _blank_choice(choice)
                choice["finish_reason"] = "content_filter"

    try:
        # NER on a whole answer takes milliseconds: keep it off the event loop, bounded in time.
        await services.pii_pool.run(filter_answer)
    except Exception as exc:
        await _record_failure(services, exchange, exc, answer=raw)
        if isinstance(exc, DetectionUnavailable):
            raise DetectionUnavailable("PII detection on the answer failed") from None
        raise
    usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else None
    await _append_response_record(
        services,
        exchange,
        decision="block" if filt.blocked else "allow",
        answer=raw,
        usage=usage,
        delivered="blocked" if filt.blocked else "complete",
        decisions=filt.decisions,
    )
    await _record_tokens(services, exchange, usage)
    return answer


def _drop_logprobs(body: dict[str, Any]) -> None:
    """Log-probabilities list the model's tokens one by one, outside the output filter's reach
    (restored values and leaked identifiers would reappear there): they are not passed on."""
    for choice in body.get("choices") or ():
        if isinstance(choice, dict) and choice.get("logprobs") is not None:
            choice["logprobs"] = None


def _blank_choice(choice: dict[str, Any]) -> None:
    message = choice.get("message")
    if isinstance(message, dict):
        message["content"] = CONTENT_FILTER_NOTICE
        message["reasoning_content"] = None
        message["tool_calls"] = None
    elif "text" in choice:
        choice["text"] = CONTENT_FILTER_NOTICE


def _text_fields(choice: dict[str, Any], *, streaming: bool) -> dict[str, tuple[str, Callable[[str], None]]]:
    """Every text field of a choice the filter must see (by channel name), with a setter for the
    filtered text. Non-streaming choices carry ``message``, streamed ones ``delta``."""
    targets: dict[str, tuple[str, Callable[[str], None]]] = {}

    def put(container: dict[str, Any], key: str, name: str) -> None:
        value = container.get(key)
        if value is not None and not isinstance(value, str):
            # Text the filter cannot read is never passed on.
            raise EngineBadResponse(f"engine answer field {key} is not text")
        if isinstance(value, str) and (value or not streaming):
            targets[name] = (value, lambda new: container.__setitem__(key, new))

    put(choice, "text", "text")
    body = choice.get("delta" if streaming else "message")
    if isinstance(body, dict):
        put(body, "content", "content")
        put(body, "reasoning_content", "reasoning_content")
        for position, call in enumerate(body.get("tool_calls") or ()):
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                # Streamed tool-call deltas name their call by "index"; whole answers by position.
                index = call.get("index", 0) if streaming else position
                put(function, "arguments", f"tool_calls.{index}.arguments")
    return targets


# ----------------------------------------------------------------------------- streaming


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + _encode(payload) + b"\n\n"


SSE_DONE = b"data: [DONE]\n\n"


class _StreamState:
    """Accumulates the raw answer for the audit record, per choice and channel."""

    def __init__(self) -> None:
        self.raw: dict[str, dict[str, str]] = {}
        self.usage: dict[str, Any] | None = None
        self.template: dict[str, Any] = {}

    def add(self, index: int, channel: str, text: str) -> None:
        per_choice = self.raw.setdefault(str(index), {})
        per_choice[channel] = per_choice.get(channel, "") + text


async def open_stream(services: Services, exchange: Exchange) -> AsyncIterator[bytes]:
    """Connect to the engine, then return the generator of filtered SSE frames.

    Connecting first means an unreachable engine is a 503 rather than a broken stream. The upstream
    connection is closed when the generator is closed (client disconnect), which cancels the
    generation on the worker.
    """
    upstream_body = dict(exchange.forwarded)
    # Always ask for usage so the audit record and token quotas have it; strip it if not asked for.
    upstream_body["stream_options"] = {
        **(exchange.forwarded.get("stream_options") or {}),
        "include_usage": True,
    }
    stack = contextlib.AsyncExitStack()
    try:
        events = await stack.enter_async_context(services.engine.stream(exchange.route.path, upstream_body))
    except Exception as exc:
        await stack.aclose()
        await _record_failure(services, exchange, exc)
        raise
    client_wants_usage = bool((exchange.forwarded.get("stream_options") or {}).get("include_usage"))
    return _relay(services, exchange, stack, events, client_wants_usage)


async def _relay(
    services: Services,
    exchange: Exchange,
    stack: contextlib.AsyncExitStack,
    events: AsyncIterator[bytes],
    client_wants_usage: bool,
) -> AsyncIterator[bytes]:
    filt = make_filter(services, exchange)
    state = _StreamState()
    engine_error: dict[str, Any] | None = None
    recorded = False
    done = False
    try:
        async with stack:
            async for data in events:
                if data == b"[DONE]":
                    done = True
                    break
                try:
                    chunk = _decode(data)
                except msgspec.DecodeError:
                    continue
                if not isinstance(chunk, dict):
                    continue
                if "error" in chunk and "choices" not in chunk:
                    engine_error = error_body(
                        "The model worker failed while answering.", "server_error", "engine_error"
                    )
                    break
                if not state.template:
                    state.template = {k: chunk[k] for k in ("id", "object", "created", "model") if k in chunk}
                if chunk.get("usage"):
                    state.usage = chunk["usage"]
                choices = chunk.get("choices") or []
                if not choices:
                    if client_wants_usage:
                        yield sse(chunk)
                    continue
                if not client_wants_usage and "usage" in chunk:
                    chunk["usage"] = None
                _drop_logprobs(chunk)
                if filt.scans_names:
                    out = await _filter_off_loop(services, chunk, filt, state)
                else:
                    out = _filter_stream_chunk(chunk, filt, state)
                if filt.blocked:
                    break
                if out is not None:
                    yield sse(out)
        if engine_error is None and not done and not filt.blocked:
            # The worker closed the stream without finishing it: not a complete answer.
            raise EngineUnavailable("engine stream ended before [DONE]")
        if engine_error is not None:
            await _append_response_record(
                services,
                exchange,
                decision="error",
                answer=state.raw,
                usage=state.usage,
                delivered="engine_error",
                decisions=filt.decisions,
            )
            recorded = True
            yield sse(engine_error)  # no [DONE]: the answer did not complete
            return
        if filt.blocked:
            for frame in _blocked_frames(exchange, state, filt):
                yield frame
        await _append_response_record(
            services,
            exchange,
            decision="block" if filt.blocked else "allow",
            answer=state.raw,
            usage=state.usage,
            delivered="blocked" if filt.blocked else "complete",
            decisions=filt.decisions,
        )
        recorded = True
        await _record_tokens(services, exchange, state.usage)
    except Exception as exc:
        # Engine dropped mid-answer, audit store down, rate limiter down...: end with an error event
        # and no [DONE], so the client never takes a partial answer for a complete one.
        log.warning("stream.aborted", request_id=exchange.request_id, error_type=type(exc).__name__)
        if not recorded and not isinstance(exc, AuditError):
            await _record_failure(services, exchange, exc, answer=state.raw, decisions=filt.decisions)
        recorded = True
        body = to_response(exc).content
        yield sse(body if isinstance(body, dict) else error_body("stream aborted", "server_error", None))
        return
    finally:
        if not recorded:  # the client went away (cancellation): record what was produced
            _audit_in_background(services, exchange, state, filt)
    yield SSE_DONE


async def _record_failure(
    services: Services,
    exchange: Exchange,
    exc: Exception,
    answer: dict[str, Any] | None = None,
    decisions: Sequence[Any] = (),
) -> None:
    """Best effort: the request record exists, so note how the exchange failed (type name only)."""
    try:
        await _append_response_record(
            services,
            exchange,
            decision="error",
            answer={**(answer or {}), "error": type(exc).__name__},
            usage=None,
            delivered="failed",
            decisions=decisions,
        )
    except AuditError:
        log.error("audit.failure_not_recorded", request_id=exchange.request_id, error_type=type(exc).__name__)


def _audit_in_background(
    services: Services, exchange: Exchange, state: _StreamState, filt: StreamFilter
) -> None:
    """The client went away mid-answer: record what was produced, without blocking the close."""
    task = asyncio.get_running_loop().create_task(
        _append_response_record(
            services,
            exchange,
            decision="block" if filt.blocked else "allow",
            answer=state.raw,
            usage=state.usage,
            delivered="client_disconnected",
            decisions=filt.decisions,
        )
    )
    services.background.add(task)
    task.add_done_callback(services.background.discard)


async def _filter_off_loop(
    services: Services, chunk: dict[str, Any], filt: StreamFilter, state: _StreamState
) -> dict[str, Any] | None:
    """``_filter_stream_chunk`` in the detection pool, bounded in time: with NER a finished clause
    costs milliseconds, which must not stall the other requests on this event loop."""
    return await services.pii_pool.run(partial(_filter_stream_chunk, chunk, filt, state))


def _filter_stream_chunk(
    chunk: dict[str, Any], filt: StreamFilter, state: _StreamState
) -> dict[str, Any] | None:
    """Filter every text field of every choice in one chunk; None when nothing is left to send."""
    keep = False
    for choice in chunk["choices"]:
        if not isinstance(choice, dict):
            continue
        index = int(choice.get("index") or 0)
        for name, (text, setter) in _text_fields(choice, streaming=True).items():
            state.add(index, name, text)
            released = filt.feed(f"{index}.{name}", text).text
            setter(released)
            keep = keep or bool(released)
        delta = choice.get("delta")
        if choice.get("finish_reason") is not None:
            # Flush what is still held on this choice's channels before the finish chunk goes out.
            for name in state.raw.get(str(index), {}):
                tail = filt.finish(f"{index}.{name}").text
                if tail:
                    _append_channel_text(choice, name, tail)
            keep = True
        elif (isinstance(delta, dict) and ("role" in delta or _opens_tool_call(delta))) or choice.get(
            "logprobs"
        ):
            keep = True
    return chunk if keep else None


def _opens_tool_call(delta: dict[str, Any]) -> bool:
    """The chunk that starts a streamed tool call carries its id, type and function name."""
    for call in delta.get("tool_calls") or ():
        if isinstance(call, dict) and (
            call.get("id") or call.get("type") or (call.get("function") or {}).get("name")
        ):
            return True
    return False


def _append_channel_text(choice: dict[str, Any], name: str, text: str) -> None:
    if name == "text":
        choice["text"] = (choice.get("text") or "") + text
        return
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        delta = choice["delta"] = {}
    if name.startswith("tool_calls."):
        position = int(name.split(".")[1])
        delta.setdefault("tool_calls", []).append({"index": position, "function": {"arguments": text}})
    else:
        delta[name] = (delta.get(name) or "") + text


def _blocked_frames(exchange: Exchange, state: _StreamState, filt: StreamFilter) -> list[bytes]:
    """A well-formed end for a blocked stream: a final chunk with finish_reason content_filter."""
    base = dict(state.template) or {"object": exchange.route.chunk_object, "model": exchange.model}
    if exchange.route is CHAT:
        choice: dict[str, Any] = {
            "index": 0,
            "delta": {"content": CONTENT_FILTER_NOTICE},
            "finish_reason": "content_filter",
            "logprobs": None,
        }
    else:
        choice = {
            "index": 0,
            "text": CONTENT_FILTER_NOTICE,
            "finish_reason": "content_filter",
            "logprobs": None,
        }
    return [sse({**base, "choices": [choice]})]
