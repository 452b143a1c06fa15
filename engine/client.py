"""Async client for SGLang workers (``python -m sglang.launch_server``) over their HTTP API.

One shared aiohttp session (connection pooling, timeouts) for all workers. Requests go to the
worker with the fewest requests in flight; a worker that cannot be reached before the first byte
is skipped and the next one is tried (failover before the first byte only: once an answer has
started, it is never replayed elsewhere). The full worker pool with health checks and circuit
breaking, and the ``sglang-router`` mode, build on this class.

aiohttp rather than httpx: measured side by side against the simulator, httpx cost about 1.0 ms
of CPU per request at concurrency 1 and 1.8-2.0 ms at 16 (its connection pool checks every pooled
connection's socket on each request), aiohttp 0.2-0.3 ms (docs/benchmarks.md, issue 20).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
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
#: Idle pooled connections are closed after this; below the 5 s after which uvicorn (SGLang's
#: server) closes them itself, so a request never goes out on a connection the worker is closing.
KEEPALIVE_S = 4.0

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()
_JSON = {"Content-Type": "application/json"}
_SSE = {"Content-Type": "application/json", "Accept": "text/event-stream"}


class EngineClient:
    """Talks to one or more SGLang workers. Use as an async context manager or call ``aclose``."""

    def __init__(self, config: EngineConfig) -> None:
        if not config.urls:
            raise ValueError("at least one engine URL is required")
        self._workers = [_Worker(url.rstrip("/")) for url in config.urls]
        self._config = config
        self._session: aiohttp.ClientSession | None = None
        #: The models the workers serve (``GET /v1/models``), cached; requests are checked against it.
        self.models = ModelCatalog(lambda: self.get_json("/v1/models", timeout_s=MODEL_LIST_TIMEOUT_S))

    @property
    def urls(self) -> Sequence[str]:
        return [w.url for w in self._workers]

    def _http(self) -> aiohttp.ClientSession:
        # Made on first use, inside the event loop that will use it (aiohttp binds it to that loop).
        if self._session is None:
            config = self._config
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=config.max_connections, limit_per_host=0, keepalive_timeout=KEEPALIVE_S
                ),
                headers={"Authorization": f"Bearer {config.api_key}"} if config.api_key else None,
                timeout=_timeout(config.read_timeout_s, config.connect_timeout_s),
                # Nothing an engine answers is carried into another caller's request.
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> EngineClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _ordered_workers(self) -> list[_Worker]:
        return sorted(self._workers, key=lambda w: w.in_flight)

    async def post_json(
        self, path: str, body: dict[str, Any], *, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """POST a JSON body and return the decoded JSON answer (non-streaming). ``headers`` are
        added to the request (the caller's ``traceparent``)."""
        content = _encoder.encode(body)
        async with self._post(path, content, {**_JSON, **headers} if headers else _JSON) as (response, url):
            try:
                payload = await response.read()
            except TimeoutError as exc:
                raise EngineUnavailable(f"engine worker {url} timed out") from exc
            except aiohttp.ClientError as exc:
                raise EngineUnavailable(f"engine worker {url} broke off its answer") from exc
            return _decode_answer(response.status, payload, url)

    @contextlib.asynccontextmanager
    async def stream(
        self, path: str, body: dict[str, Any], *, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """Open a streaming POST; yields an iterator over the SSE ``data:`` payloads (bytes);
        ``headers`` are added to the request (the caller's ``traceparent``).

        Leaving the context closes the upstream connection, which is how SGLang learns that the
        client went away and aborts the generation.
        """
        content = _encoder.encode(body)
        async with self._post(path, content, {**_SSE, **headers} if headers else _SSE) as (response, url):
            if response.status != 200:
                try:
                    payload = await response.read()
                except (TimeoutError, aiohttp.ClientError) as exc:
                    raise EngineUnavailable(f"engine worker {url} broke off its answer") from exc
                _decode_answer(response.status, payload, url)
                raise EngineBadResponse(f"engine worker {url} answered without a stream")
            try:
                yield _sse_data(response)
            finally:
                # Not released to the pool: a stream left early must end the generation upstream.
                response.close()

    @contextlib.asynccontextmanager
    async def _post(
        self, path: str, content: bytes, headers: dict[str, str]
    ) -> AsyncIterator[tuple[aiohttp.ClientResponse, str]]:
        """The response (its headers read) of the first worker that answers, and that worker's URL."""
        http = self._http()
        last_error: Exception | None = None
        for worker in self._ordered_workers():
            worker.in_flight += 1
            try:
                try:
                    response = await http.post(
                        worker.url + path, data=content, headers=headers, allow_redirects=False
                    )
                except aiohttp.SocketTimeoutError as exc:
                    raise EngineUnavailable(f"engine worker {worker.url} timed out") from exc
                except aiohttp.ClientError as exc:
                    # Not reached, refused, or closed before any answer: the next worker may serve it.
                    last_error = exc
                    continue
                try:
                    yield response, worker.url
                finally:
                    response.release()
                return
            finally:
                worker.in_flight -= 1
        raise EngineUnavailable("no engine worker reachable") from last_error

    async def get_json(self, path: str, *, timeout_s: float | None = None) -> dict[str, Any]:
        """GET a JSON document from the first reachable worker (for /v1/models and info routes);
        ``timeout_s``, when given, replaces the read timeout for this call."""
        http = self._http()
        options: dict[str, Any] = {"allow_redirects": False}
        if timeout_s is not None:  # left out, the session's timeouts apply (None would mean none)
            options["timeout"] = _timeout(timeout_s, min(timeout_s, self._config.connect_timeout_s))
        last_error: Exception | None = None
        for worker in self._ordered_workers():
            try:
                async with http.get(worker.url + path, **options) as response:
                    payload = await response.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                last_error = exc
                continue
            return _decode_answer(response.status, payload, worker.url)
        raise EngineUnavailable("no engine worker reachable") from last_error

    async def healthy(self) -> bool:
        """True when at least one worker answers ``GET /health`` with 200."""
        http = self._http()
        for worker in self._workers:
            try:
                async with http.get(
                    worker.url + "/health", timeout=_timeout(2.0, 2.0), allow_redirects=False
                ) as response:
                    if response.status == 200:
                        return True
            except (TimeoutError, aiohttp.ClientError):
                continue
        return False


def _timeout(read_s: float, connect_s: float) -> aiohttp.ClientTimeout:
    # Per socket operation, as the engine's answers may stream for minutes: no total bound.
    return aiohttp.ClientTimeout(total=None, sock_connect=connect_s, sock_read=read_s)


async def _sse_data(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    # Lines are split here rather than by aiohttp's readline, whose line-length limit a long
    # tool-call chunk can pass.
    pending = b""
    try:
        async for block in response.content.iter_any():
            lines = (pending + block).split(b"\n")
            pending = lines.pop()
            for line in lines:
                if line.startswith(b"data:"):
                    yield line[5:].strip()
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise EngineUnavailable("engine stream interrupted") from exc
    if pending.startswith(b"data:"):
        yield pending[5:].strip()


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
