"""OpenAI-compatible routes: chat completions, completions, model listing.

Thin handlers: decode and check the body (:mod:`gateway.validation`), hand the request to the
pipeline (:mod:`gateway.pipeline`) with the policy snapshot and decision the permission guard
took, and turn the result into a response. Services, caller and policy snapshot are injected.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Stream

from gateway.dependencies import PolicyDep, PrincipalDep, ServicesDep
from gateway.guards import request_id_of
from gateway.openai_schemas import (
    CHAT_DESCRIPTION,
    CHAT_RESPONSES,
    COMPLETION_DESCRIPTION,
    COMPLETION_RESPONSES,
    MODELS_DESCRIPTION,
    MODELS_RESPONSES,
    ChatCompletionsOperation,
    CompletionsOperation,
    OpenAIOperation,
)
from gateway.pipeline import CHAT, COMPLETIONS, Arrival, Route, admit, complete, open_stream
from gateway.services import Services
from gateway.validation import check_chat_request, check_completion_request, decode_json_object
from policies.bundle import PolicyBundle
from policies.rbac import AuthzDecision, Principal, authorize

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _guards_decision(request: Request[Any, Any, Any]) -> AuthzDecision | None:
    """The permission guard's decision for this request (None where no guard decided)."""
    decision: AuthzDecision | None = getattr(request.state, "authz", None)
    return decision


async def _handle(
    request: Request[Any, Any, Any],
    route: Route,
    services: Services,
    principal: Principal,
    policy: PolicyBundle,
) -> Any:
    body = decode_json_object(await request.body(), services.settings.server.max_json_depth)
    view = check_chat_request(body) if route is CHAT else check_completion_request(body)
    arrival = Arrival(
        route,
        principal,
        request_id_of(request),
        policy,
        _guards_decision(request),
        body,
        view.model,
        bool(view.stream),
        request.headers,
    )
    exchange = await admit(services, arrival, services.detector)  # the detector, read once
    if exchange.context.stream:
        frames = await open_stream(services, exchange)
        return Stream(frames, media_type="text/event-stream", headers=SSE_HEADERS)
    return await complete(services, exchange)


@post(
    "/v1/chat/completions",
    opt={"permission": "chat"},
    status_code=200,
    summary="Create a chat completion",
    description=CHAT_DESCRIPTION,
    tags=["OpenAI"],
    responses=CHAT_RESPONSES,
    operation_class=ChatCompletionsOperation,
)
async def chat_completions(
    request: Request[Any, Any, Any], services: ServicesDep, principal: PrincipalDep, policy: PolicyDep
) -> Any:
    """Chat completion (streaming or not) through the full policy pipeline."""
    return await _handle(request, CHAT, services, principal, policy)


@post(
    "/v1/completions",
    opt={"permission": "completions"},
    status_code=200,
    summary="Create a text completion",
    description=COMPLETION_DESCRIPTION,
    tags=["OpenAI"],
    responses=COMPLETION_RESPONSES,
    operation_class=CompletionsOperation,
)
async def completions(
    request: Request[Any, Any, Any], services: ServicesDep, principal: PrincipalDep, policy: PolicyDep
) -> Any:
    """Text completion (streaming or not) through the full policy pipeline."""
    return await _handle(request, COMPLETIONS, services, principal, policy)


@get(
    "/v1/models",
    opt={"permission": "models:list"},
    summary="List the models the caller may use",
    description=MODELS_DESCRIPTION,
    tags=["OpenAI"],
    responses=MODELS_RESPONSES,
    operation_class=OpenAIOperation,
)
async def list_models(services: ServicesDep, principal: PrincipalDep, policy: PolicyDep) -> dict[str, Any]:
    """The names a request may use: the engine's models (cached listing) and the site's aliases of
    them, narrowed to those the caller's roles and key may use."""
    cards = await services.engine.models.cards()
    by_id = {card["id"]: card for card in cards}
    aliases = [
        {**by_id[served], "id": alias}
        for alias, served in services.settings.engine.model_aliases.items()
        if served in by_id
    ]
    allowed = [
        card
        for card in cards + aliases
        if authorize(policy.rbac, principal, "models:list", card["id"]).allowed
    ]
    return {"object": "list", "data": allowed}
