"""Admission: everything before a request is forwarded, in the order the audit log depends on.

Size check, model resolution (a name is not known to be a model until the engine lists it, so
nothing names it in the audit log before), the model decision, the data-subject header, rate
limits, injection screening, PII redaction (fail closed), and the request record, committed
before anything is forwarded. Any refusal is a domain error (mapped to 4xx/503 in one place).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog

from gateway.auth.ratelimit import enforce
from gateway.errors import Forbidden, InvalidRequest, ModelNotFound, RateLimited, SubjectRequired
from gateway.guards import deny
from gateway.observability.request import current_observation
from gateway.pipeline.context import CHAT, Exchange, RequestContext, Route, authorize_request
from gateway.pipeline.observe import count_injection_findings, detect_request_pii
from gateway.pipeline.records import append_request_record
from gateway.validation import check_text_size
from policies.bundle import PolicyBundle
from policies.errors import PolicyViolation
from policies.output.injection import screen_for_injection
from policies.pii.redact_body import redact_chat_body, redact_completion_body
from policies.rbac import AuthzDecision, Principal

if TYPE_CHECKING:
    from gateway.services import Services
    from policies.pii.analyzer import PIIDetector

log = structlog.get_logger("gateway.pipeline")

SUBJECT_HEADER = "x-data-subject"


@dataclass(frozen=True)
class Arrival:
    """A request as the route hands it over: who (authenticated and permitted by the guard, with
    the policy snapshot the guard used), which route, and the decoded body."""

    route: Route
    principal: Principal
    request_id: str
    policy: PolicyBundle
    permission: AuthzDecision | None  # the guard's decision for the route's permission
    body: dict[str, Any]
    model: str
    stream: bool
    headers: Mapping[str, str]

    def __repr__(self) -> str:
        return f"Arrival(route={self.route.kind}, request_id={self.request_id})"


async def admit(services: Services, arrival: Arrival, detector: PIIDetector | None) -> Exchange:
    """Run admission for ``arrival``; return the exchange to forward, or raise to refuse.

    ``detector`` is the PII detector as it was when the request arrived (None: PII disabled).
    """
    route, principal = arrival.route, arrival.principal
    current_observation().proxied = True
    granted = arrival.permission
    if granted is None or not granted.allowed or granted.permission != route.permission:
        # The guard decided the route's permission (not decided again here) and admits only what
        # it allowed; anything else is a wiring fault: fail closed.
        raise Forbidden("This route is not available.", code="route_not_permitted")
    # 413 before anything reads text
    text_chars = check_text_size(arrival.body, services.settings.pii.max_text_chars)
    # First: until the name is known to be a model, it is request text (it may be anything) and
    # must not reach the audit log's model column, where the hash chain keeps it for good.
    served_model = await resolve_model(services, arrival.model)
    authz = authorize_request(arrival.policy, principal, route, arrival.model, served_model)
    if not authz.allowed:
        await deny(services, arrival.request_id, principal, authz.decision)  # 403 model_not_allowed
    subject_id = subject_of(arrival.headers)
    if subject_id is None and authz.subject_required:
        raise SubjectRequired("Your role must name the data subject in the X-Data-Subject header.")
    result = await enforce(services.limiter, principal, authz.limits)
    if not result.allowed:
        raise RateLimited("Rate limit or token quota exceeded; retry later.", result.retry_after_s)
    context = RequestContext(
        route, principal, arrival.request_id, arrival.policy, detector, authz, subject_id, arrival.stream
    )
    flags = await _screen(services, context, arrival.body)
    return await _redact(services, context, arrival.body, flags, text_chars)


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
    current_observation().note_model(served)
    return served


def subject_of(headers: Mapping[str, str]) -> str | None:
    """The ``X-Data-Subject`` header (the data subject's id), or None; 400 when malformed."""
    value = headers.get(SUBJECT_HEADER)
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > 256 or not value.isprintable():
        raise InvalidRequest(
            "X-Data-Subject must be 1 to 256 printable characters.", code="invalid_data_subject"
        )
    return str(value)


async def _screen(services: Services, context: RequestContext, body: dict[str, Any]) -> tuple[str, ...]:
    """Injection indicators in the caller's text; a ``block`` indicator refuses (recorded)."""
    findings = screen_for_injection(
        caller_texts(body), context.policy.output.injection, context.principal.roles
    )
    flags = tuple(sorted({f.indicator_id for f in findings}))
    blocked = sorted({f.indicator_id for f in findings if f.action == "block"})
    if findings:
        count_injection_findings(current_observation(), [f.action for f in findings])
    if blocked:
        await append_request_record(services.audit, context, body, "block", injection_flags=flags)
        raise PolicyViolation(
            "The request was refused by the prompt-injection policy.",
            code="prompt_injection",
            details={"indicators": blocked},
        )
    return flags


async def _redact(
    services: Services,
    context: RequestContext,
    body: dict[str, Any],
    flags: tuple[str, ...],
    text_chars: int,
) -> Exchange:
    """Redact the body the engine gets (through the detection pool, ``text_chars`` characters of
    text; fail closed), then commit the request record: nothing is forwarded before it is in the
    audit log."""
    engine_body = {**body, "model": context.served_model}
    if context.detector is None:
        exchange = Exchange(context, body, engine_body, injection_flags=flags)
    else:
        redact = redact_chat_body if context.route is CHAT else redact_completion_body
        work = partial(
            redact, engine_body, context.detector, context.authz.pii_profile, models={context.served_model}
        )
        try:
            forwarded, pseudonyms, report = await detect_request_pii(
                services.pii_pool,
                work,
                owner=context.principal.id,
                observation=current_observation(),
                size=text_chars,
            )
        except PolicyViolation as exc:
            await append_request_record(
                services.audit,
                context,
                body,
                "block",
                injection_flags=flags,
                extra={"pii_block": exc.details},
            )
            raise
        exchange = Exchange(context, body, forwarded, pseudonyms, report, flags)
    found = exchange.report
    await append_request_record(
        services.audit,
        context,
        body,
        "allow",
        pseudonyms=exchange.issued_tokens,
        pii_actions=found.actions if found is not None else None,
        entity_counts=found.entity_counts if found is not None else None,
        injection_flags=flags,
    )
    return exchange


def caller_texts(body: dict[str, Any]) -> list[str]:
    """Caller-supplied text to screen for injection (system prompts are the app's own)."""
    texts: list[str] = []
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        texts.append(prompt)
    elif isinstance(prompt, list):
        texts.extend(p for p in prompt if isinstance(p, str))
    for message in body.get("messages") or ():
        if message.get("role") not in ("system", "developer"):
            texts.extend(_message_texts(message))
    for tool in body.get("tools") or ():
        description = (tool.get("function") or {}).get("description") if isinstance(tool, dict) else None
        if isinstance(description, str):
            texts.append(description)
    return texts


def _message_texts(message: dict[str, Any]) -> list[str]:
    texts: list[str] = []
    content = message.get("content")
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        texts.extend(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    for call in message.get("tool_calls") or ():
        arguments = (call.get("function") or {}).get("arguments") if isinstance(call, dict) else None
        if isinstance(arguments, str):
            texts.append(arguments)
    return texts
