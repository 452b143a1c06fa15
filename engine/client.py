"""Async client for SGLang workers (``python -m sglang.launch_server``) over their HTTP API.

One shared ``httpx.AsyncClient`` (connection pooling, timeouts) for all workers. Requests go to
the worker with the fewest requests in flight; a worker that cannot be reached before the first
byte is skipped and the next one is tried (failover before the first byte only: once an answer
has started, it is never replayed elsewhere). The full worker pool with health checks and circuit
breaking, and the ``sglang-router`` mode, build on this class.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from engine.errors import EngineBadResponse, EngineRejected, EngineUnavailable
from engine.models import ModelCatalog


@dataclass(frozen=True)
class EngineConfig:
    urls: tuple[str, ...]
    api_key: str | None = None
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 600.0
    max_connections: int = 256

    def __repr__(self) -> str:  # the engine key never appears in a repr or a log
        return f"EngineConfig(urls={self.urls!r}, api_key={'***' if self.api_key else None})"


@dataclass
class _Worker:
    url: str
    in_flight: int = 0


#: The model list is small and answered at once; a worker that hangs on it must not hold requests.
MODEL_LIST_TIMEOUT_S = 10.0

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class EngineClient:
    """Talks to one or more SGLang workers. Use as an async context manager or call ``aclose``."""

    def __init__(self, config: EngineConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not config.urls:
            raise ValueError("at least one engine URL is required")
        self._workers = [_Worker(url.rstrip("/")) for url in config.urls]
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        limits = httpx.Limits(
            max_connections=config.max_connections, max_keepalive_connections=config.max_connections
        )
        timeout = httpx.Timeout(config.read_timeout_s, connect=config.connect_timeout_s)
        self._connect_timeout_s = config.connect_timeout_s
        self._http = httpx.AsyncClient(
            headers=headers, limits=limits, timeout=timeout, transport=transport, trust_env=False
        )
        #: The models the workers serve (``GET /v1/models``), cached; requests are checked against it.
        self.models = ModelCatalog(lambda: self.get_json("/v1/models", timeout_s=MODEL_LIST_TIMEOUT_S))

    @property
    def urls(self) -> Sequence[str]:
        return [w.url for w in self._workers]

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> EngineClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _ordered_workers(self) -> list[_Worker]:
        return sorted(self._workers, key=lambda w: w.in_flight)

    async def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a JSON body and return the decoded JSON answer (non-streaming)."""
        content = _encoder.encode(body)
        last_error: Exception | None = None
        for worker in self._ordered_workers():
            worker.in_flight += 1
            try:
                response = await self._http.post(
                    worker.url + path, content=content, headers={"Content-Type": "application/json"}
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                last_error = exc
                continue
            except httpx.TimeoutException as exc:
                raise EngineUnavailable(f"engine worker {worker.url} timed out") from exc
            finally:
                worker.in_flight -= 1
            return _decode_answer(response.status_code, response.content, worker.url)
        raise EngineUnavailable("no engine worker reachable") from last_error

    @contextlib.asynccontextmanager
    async def stream(self, path: str, body: dict[str, Any]) -> AsyncIterator[AsyncIterator[bytes]]:
        """Open a streaming POST; yields an iterator over the SSE ``data:`` payloads (bytes).

        Leaving the context closes the upstream connection, which is how SGLang learns that the
        client went away and aborts the generation.
        """
        content = _encoder.encode(body)
        last_error: Exception | None = None
        for worker in self._ordered_workers():
            worker.in_flight += 1
            try:
                request = self._http.build_request(
                    "POST",
                    worker.url + path,
                    content=content,
                    headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
                )
                try:
                    response = await self._http.send(request, stream=True)
                except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                    last_error = exc
                    continue
                except httpx.TimeoutException as exc:
                    raise EngineUnavailable(f"engine worker {worker.url} timed out") from exc
                try:
                    if response.status_code != 200:
                        payload = await response.aread()
                        _decode_answer(response.status_code, payload, worker.url)
                        raise EngineBadResponse(f"engine worker {worker.url} answered without a stream")
                    yield _sse_data(response)
                finally:
                    await response.aclose()
                return
            finally:
                worker.in_flight -= 1
        raise EngineUnavailable("no engine worker reachable") from last_error

    async def get_json(self, path: str, *, timeout_s: float | None = None) -> dict[str, Any]:
        """GET a JSON document from the first reachable worker (for /v1/models and info routes);
        ``timeout_s``, when given, replaces the read timeout for this call."""
        last_error: Exception | None = None
        timeout = (
            httpx.USE_CLIENT_DEFAULT
            if timeout_s is None
            else httpx.Timeout(timeout_s, connect=min(timeout_s, self._connect_timeout_s))
        )
        for worker in self._ordered_workers():
            try:
                response = await self._http.get(worker.url + path, timeout=timeout)
            except httpx.TransportError as exc:
                last_error = exc
                continue
            return _decode_answer(response.status_code, response.content, worker.url)
        raise EngineUnavailable("no engine worker reachable") from last_error

    async def healthy(self) -> bool:
        """True when at least one worker answers ``GET /health`` with 200."""
        for worker in self._workers:
            try:
                response = await self._http.get(worker.url + "/health", timeout=2.0)
            except httpx.TransportError:
                continue
            if response.status_code == 200:
                return True
        return False


async def _sse_data(response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                yield line[5:].strip().encode()
    except httpx.TransportError as exc:
        raise EngineUnavailable("engine stream interrupted") from exc


def _decode_answer(status: int, payload: bytes, url: str) -> dict[str, Any]:
    try:
        data = _decoder.decode(payload)
    except msgspec.DecodeError:
        raise EngineBadResponse(f"engine worker {url} sent non-JSON (status {status})") from None
    if status >= 400:
        message = "The model worker refused the request."
        error_type = "invalid_request_error"
        if isinstance(data, dict):
            nested = data.get("error")
            err: dict[str, Any] = nested if isinstance(nested, dict) else data
            if isinstance(err.get("message"), str):
                message = err["message"]
            if isinstance(err.get("type"), str):
                error_type = err["type"]
        if status >= 500:
            raise EngineUnavailable(f"engine worker {url} failed with status {status}")
        if status in (401, 403):
            raise EngineBadResponse(f"engine worker {url} refused the gateway's credential ({status})")
        raise EngineRejected(status, message, error_type)
    if not isinstance(data, dict):
        raise EngineBadResponse(f"engine worker {url} sent an unexpected JSON document")
    return data
