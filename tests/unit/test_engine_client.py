"""The engine client against a real HTTP server on the loopback (aiohttp's own test server):
the model list, failover before the first byte only, no redirects followed, no cookies kept,
SSE lines split across reads, and engine refusals mapped to engine errors."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from engine.client import EngineClient, EngineConfig
from engine.errors import EngineRejected, EngineUnavailable

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[dict[str, Handler]], Awaitable[str]]]:
    """Start a loopback server with the given POST/GET handlers by path; returns its base URL."""
    servers: list[TestServer] = []

    async def start(routes: dict[str, Handler]) -> str:
        app = web.Application()
        for path, handler in routes.items():
            app.router.add_route("*", path, handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_the_engine_client_asks_its_workers_for_the_list(serve) -> None:  # type: ignore[no-untyped-def]
    paths: list[str] = []

    async def models(request: web.Request) -> web.Response:
        paths.append(request.path)
        return web.json_response({"object": "list", "data": [{"id": "org/a", "object": "model"}]})

    url = await serve({"/v1/models": models})
    async with EngineClient(EngineConfig(urls=(url,))) as client:
        assert await client.models.is_served("org/a")
        assert not await client.models.is_served("org/b")
    assert paths == ["/v1/models"]


async def test_an_unreachable_worker_is_skipped_before_the_first_byte(serve) -> None:  # type: ignore[no-untyped-def]
    async def chat(request: web.Request) -> web.Response:
        return web.json_response({"echo": (await request.json())["x"]})

    url = await serve({"/v1/chat/completions": chat})
    async with EngineClient(EngineConfig(urls=(closed_port_url(), url))) as client:
        assert await client.post_json("/v1/chat/completions", {"x": 1}) == {"echo": 1}
    async with EngineClient(EngineConfig(urls=(closed_port_url(),))) as client:
        with pytest.raises(EngineUnavailable):
            await client.post_json("/v1/chat/completions", {"x": 1})


async def test_redirects_are_not_followed_and_cookies_not_kept(serve) -> None:  # type: ignore[no-untyped-def]
    seen_cookies: list[str] = []

    async def moved(request: web.Request) -> web.Response:
        seen_cookies.append(request.headers.get("Cookie", ""))
        response = web.json_response({"error": {"message": "moved"}}, status=307)
        response.headers["Location"] = "/elsewhere"
        response.set_cookie("session", "from-the-engine")
        return response

    async def elsewhere(request: web.Request) -> web.Response:
        raise AssertionError("the redirect was followed")

    url = await serve({"/v1/chat/completions": moved, "/elsewhere": elsewhere})
    async with EngineClient(EngineConfig(urls=(url,))) as client:
        for _ in range(2):
            # The 307's own body comes back: the redirect's target is never asked.
            assert await client.post_json("/v1/chat/completions", {}) == {"error": {"message": "moved"}}
    assert seen_cookies == ["", ""]


async def test_engine_errors_are_mapped(serve) -> None:  # type: ignore[no-untyped-def]
    async def refuse(request: web.Request) -> web.Response:
        return web.json_response(
            {"error": {"message": "too long", "type": "invalid_request_error"}}, status=400
        )

    async def fail(request: web.Request) -> web.Response:
        return web.json_response({"error": "boom"}, status=500)

    url = await serve({"/refuse": refuse, "/fail": fail})
    async with EngineClient(EngineConfig(urls=(url,))) as client:
        with pytest.raises(EngineRejected) as refused:
            await client.post_json("/refuse", {})
        assert (refused.value.status, str(refused.value)) == (400, "too long")
        with pytest.raises(EngineUnavailable):
            await client.post_json("/fail", {})


async def test_a_slow_answer_times_out_as_unavailable(serve) -> None:  # type: ignore[no-untyped-def]
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    url = await serve({"/hang": hang})
    async with EngineClient(EngineConfig(urls=(url,), read_timeout_s=0.2)) as client:
        with pytest.raises(EngineUnavailable, match="timed out"):
            await client.post_json("/hang", {})
    release.set()


async def test_stream_lines_split_across_reads_are_joined(serve) -> None:  # type: ignore[no-untyped-def]
    long_value = "x" * 200_000  # past aiohttp's own readline limit

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        payload = f'data: {{"v": "{long_value}"}}\n\n: comment\ndata: [DONE]\n\n'.encode()
        for start in range(0, len(payload), 7_001):  # cut anywhere, lines included
            await response.write(payload[start : start + 7_001])
        await response.write_eof()
        return response

    url = await serve({"/stream": stream})
    async with EngineClient(EngineConfig(urls=(url,))) as client:
        async with client.stream("/stream", {}) as events:
            received = [data async for data in events]
    assert received == [f'{{"v": "{long_value}"}}'.encode(), b"[DONE]"]
