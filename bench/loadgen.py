"""The one load generator of the side-by-side benchmark: async httpx, fixed concurrency, fresh prompts.

Every request carries a new ~150-character prompt with a person's name, a phone number and an
e-mail address (``prompt``), so no cache on any server can answer it. A run ("cell") sends a
warm-up batch, then ``requests`` measured requests through ``concurrency`` workers sharing one
connection pool, and records each request's latency (to the last byte), its time to the first
content token when streaming, and whether it succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import httpx

FIRST_NAMES = ("Maria", "James", "Aisha", "Wei", "Olivia", "Rahul", "Sofia", "Lukas", "Fatima", "Noah")
SURNAMES = ("Gonzalez", "Miller", "Okafor", "Zhang", "Jones", "Patel", "Rossi", "Schmidt", "Haddad", "Brown")


def prompt(n: int) -> str:
    """The ``n``-th prompt: about 150 characters, a name, a phone number and an e-mail, unique per ``n``."""
    first = FIRST_NAMES[n % len(FIRST_NAMES)]
    last = SURNAMES[(n // len(FIRST_NAMES)) % len(SURNAMES)]
    return (
        f"Hi, I am {first} {last}, phone 415-555-{n % 10_000:04d}, mail "
        f"{first.lower()}.{last.lower()}{n}@example.org. Please summarise my pharmacy refill request {n} "
        "in one line for the clinic."
    )


class PromptSource:
    """Hands out prompt numbers once each, across every cell and server of a run."""

    def __init__(self, start: int = 0) -> None:
        self._counter = itertools.count(start)

    def next(self) -> str:
        """A prompt no request of this run has carried before."""
        return prompt(next(self._counter))


@dataclass(frozen=True)
class Target:
    """Where a cell sends its requests: a server's base URL and its credential headers."""

    name: str
    url: str
    headers: Mapping[str, str]
    model: str


@dataclass(frozen=True)
class Sample:
    """One measured request."""

    latency_ms: float
    ttft_ms: float | None
    ok: bool
    outcome: str  # "ok", an HTTP status with the error code, or the transport error's class


@dataclass
class CellResult:
    """All samples of one (server, streaming, concurrency) run, and how long the measured part took."""

    server: str
    stream: bool
    concurrency: int
    samples: list[Sample] = field(default_factory=list)
    wall_s: float = 0.0
    stopped_early: bool = False


def _body(model: str, text: str, stream: bool, max_tokens: int) -> dict[str, object]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": text}],
        "stream": stream,
        "max_tokens": max_tokens,
    }


def _error_label(status: int, content: bytes) -> str:
    try:
        code = json.loads(content)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    return f"{status} {code}" if code else str(status)


def _content_of(line: str) -> str | None:
    """The delta content of one SSE ``data:`` line, or None if it carries none."""
    try:
        event = json.loads(line[5:])
        delta = event["choices"][0]["delta"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) and content else None


async def _send_plain(client: httpx.AsyncClient, target: Target, body: dict[str, object]) -> Sample:
    started = time.perf_counter()
    response = await client.post(target.url + "/v1/chat/completions", json=body, headers=dict(target.headers))
    elapsed = (time.perf_counter() - started) * 1000
    ok = response.status_code == 200 and b'"choices"' in response.content
    label = "ok" if ok else _error_label(response.status_code, response.content)
    return Sample(elapsed, None, ok, label)


async def _send_stream(client: httpx.AsyncClient, target: Target, body: dict[str, object]) -> Sample:
    started = time.perf_counter()
    ttft: float | None = None
    done = False
    url = target.url + "/v1/chat/completions"
    async with client.stream("POST", url, json=body, headers=dict(target.headers)) as response:
        if response.status_code != 200:
            content = await response.aread()
            elapsed = (time.perf_counter() - started) * 1000
            return Sample(elapsed, None, False, _error_label(response.status_code, content))
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            if line.strip() == "data: [DONE]":
                done = True
            elif ttft is None and _content_of(line) is not None:
                ttft = (time.perf_counter() - started) * 1000
    elapsed = (time.perf_counter() - started) * 1000
    # A stream that ends without [DONE], or never carried content, did not deliver the answer.
    ok = done and ttft is not None
    return Sample(elapsed, ttft, ok, "ok" if ok else ("no content" if done else "no [DONE]"))


async def _send(
    client: httpx.AsyncClient, target: Target, text: str, stream: bool, max_tokens: int
) -> Sample:
    body = _body(target.model, text, stream, max_tokens)
    started = time.perf_counter()
    try:
        if stream:
            return await _send_stream(client, target, body)
        return await _send_plain(client, target, body)
    except httpx.HTTPError as exc:
        return Sample((time.perf_counter() - started) * 1000, None, False, type(exc).__name__)


async def _batch(
    clients: Sequence[httpx.AsyncClient],
    target: Target,
    prompts: PromptSource,
    *,
    count: int,
    concurrency: int,
    stream: bool,
    max_tokens: int,
    deadline: float,
    clock: Callable[[], float],
) -> tuple[list[Sample], bool]:
    """``count`` requests through ``concurrency`` workers; no new request starts after ``deadline``."""
    samples: list[Sample] = []
    tickets: Iterator[int] = iter(range(count))
    stopped_early = False

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal stopped_early
        for _ in tickets:
            if clock() > deadline:
                stopped_early = True
                return
            samples.append(await _send(client, target, prompts.next(), stream, max_tokens))

    await asyncio.gather(*(worker(client) for client in clients[:concurrency]))
    return samples, stopped_early


async def run_cell(
    target: Target,
    prompts: PromptSource,
    *,
    stream: bool,
    concurrency: int,
    requests: int,
    warmup: int,
    max_tokens: int = 64,
    timeout_s: float = 30.0,
    max_seconds: float = 120.0,
    clock: Callable[[], float] = time.monotonic,
    transport: httpx.AsyncBaseTransport | None = None,
) -> CellResult:
    """Warm up, then measure ``requests`` requests at ``concurrency``; bounded by ``max_seconds``.

    No request starts once ``clock`` has passed ``max_seconds`` from the start (the cell is then
    marked ``stopped_early``). ``transport`` replaces the network, for tests.
    """
    # One client with one connection per worker: a shared pool of many connections costs the
    # generator several ms of CPU per request at c=64 (measured), more than the servers it drives.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    timeout = httpx.Timeout(timeout_s)
    result = CellResult(target.name, stream, concurrency)
    deadline = clock() + max_seconds
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False, transport=transport)
            )
            for _ in range(concurrency)
        ]
        await _batch(
            clients,
            target,
            prompts,
            count=max(warmup, concurrency),  # opens every connection before the clock starts
            concurrency=concurrency,
            stream=stream,
            max_tokens=max_tokens,
            deadline=deadline,
            clock=clock,
        )
        started = time.perf_counter()
        result.samples, result.stopped_early = await _batch(
            clients,
            target,
            prompts,
            count=requests,
            concurrency=concurrency,
            stream=stream,
            max_tokens=max_tokens,
            deadline=deadline,
            clock=clock,
        )
        result.wall_s = time.perf_counter() - started
    return result
