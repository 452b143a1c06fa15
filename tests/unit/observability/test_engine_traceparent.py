"""The engine client sends the headers the pipeline gives it (the W3C ``traceparent``), on plain
and streaming calls, through the pooled client too; without them it sends none of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from engine.client import EngineClient, EngineConfig
from engine.pool import PoolConfig
from engine.pool.client import PooledEngineClient

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
ANSWER = {"object": "chat.completion", "choices": [], "model": "m"}


@pytest.fixture
async def engine() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    async def chat(request: web.Request) -> web.StreamResponse:
        seen.append({k.lower(): v for k, v in request.headers.items()})
        if (await request.json()).get("stream"):
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            await response.write(b"data: [DONE]\n\n")
            return response
        return web.json_response(ANSWER)

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/health", health)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/"), seen
    await server.close()


Make = Callable[[str], EngineClient]
CLIENTS: dict[str, Make] = {
    "plain": lambda url: EngineClient(EngineConfig(urls=(url,))),
    "pooled": lambda url: PooledEngineClient(
        EngineConfig(urls=(url,)), PoolConfig(urls=(url,), metrics_weighting=False)
    ),
}


async def _calls(client: EngineClient, headers: dict[str, str] | None) -> None:
    kwargs = {"headers": headers} if headers is not None else {}
    assert await client.post_json("/v1/chat/completions", {"stream": False}, **kwargs) == ANSWER
    async with client.stream("/v1/chat/completions", {"stream": True}, **kwargs) as events:
        assert [event async for event in events] == [b"[DONE]"]


@pytest.mark.parametrize("kind", sorted(CLIENTS))
async def test_traceparent_goes_to_the_engine(engine: tuple[str, list[dict[str, str]]], kind: str) -> None:
    url, seen = engine
    async with CLIENTS[kind](url) as client:
        await _calls(client, {"traceparent": TRACEPARENT})
        await _calls(client, None)
    assert [h.get("traceparent") for h in seen] == [TRACEPARENT, TRACEPARENT, None, None]
    # The added header never replaces the content type the call needs.
    assert all(h["content-type"] == "application/json" for h in seen)
    assert seen[1]["accept"] == "text/event-stream"
