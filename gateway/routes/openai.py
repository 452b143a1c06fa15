"""OpenAI-compatible routes: chat completions, completions, model listing."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Stream

from gateway.guards import principal_of, request_id_of, services_of
from gateway.proxy import CHAT, COMPLETIONS, Route, complete, open_stream, prepare
from gateway.validation import check_chat_request, check_completion_request, decode_json_object
from policies.rbac import authorize

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def _handle(request: Request[Any, Any, Any], route: Route) -> Any:
    services = services_of(request)
    raw = await request.body()
    body = decode_json_object(raw, services.settings.server.max_json_depth)
    view = check_chat_request(body) if route is CHAT else check_completion_request(body)
    exchange = await prepare(
        services,
        route,
        principal_of(request),
        request_id_of(request),
        body,
        view.model,
        bool(view.stream),
        request.headers,
    )
    if exchange.stream:
        return Stream(
            await open_stream(services, exchange), media_type="text/event-stream", headers=SSE_HEADERS
        )
    return await complete(services, exchange)


@post("/v1/chat/completions", opt={"permission": "chat"}, status_code=200)
async def chat_completions(request: Request[Any, Any, Any]) -> Any:
    """Chat completion (streaming or not) through the full policy pipeline."""
    return await _handle(request, CHAT)


@post("/v1/completions", opt={"permission": "completions"}, status_code=200)
async def completions(request: Request[Any, Any, Any]) -> Any:
    """Text completion (streaming or not) through the full policy pipeline."""
    return await _handle(request, COMPLETIONS)


@get("/v1/models", opt={"permission": "models:list"})
async def list_models(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The names a request may use: the engine's models (cached listing) and the site's aliases of
    them, narrowed to those the caller's roles and key may use."""
    services = services_of(request)
    principal = principal_of(request)
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
        if authorize(services.policy.rbac, principal, "models:list", card["id"]).allowed
    ]
    return {"object": "list", "data": allowed}
