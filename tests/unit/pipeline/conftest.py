"""In-process fakes for the request pipeline: a scripted engine (no HTTP), an audit log that
keeps events in a list, an inline detection pool, and services that hold them together."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import pytest

from audit.records import AuditEvent
from gateway.auth.ratelimit import MemoryRateLimiter
from gateway.pipeline import CHAT, Arrival, Route
from gateway.settings import Settings
from policies.bundle import DEFAULT_POLICY_DIR, PolicyBundle, load_policy_bundle
from policies.rbac import Principal, authorize

if TYPE_CHECKING:
    from gateway.services import Services

MODEL = "test-model"
# What the scripted engine does at one step: send an SSE data payload, or run a hook.
Step = bytes | Callable[[], Awaitable[None]]


def chunk(content: str | None = None, *, finish: str | None = None, role: bool = False) -> bytes:
    """A chat.completion.chunk data payload with one choice."""
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = "assistant"
    if content is not None:
        delta["content"] = content
    choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": MODEL, "choices": [choice]}
    return json.dumps(body).encode()


def usage_chunk(total: int = 30) -> bytes:
    usage = {"prompt_tokens": 10, "completion_tokens": total - 10, "total_tokens": total}
    return json.dumps({"id": "c1", "object": "chat.completion.chunk", "choices": [], "usage": usage}).encode()


DONE = b"[DONE]"


class FakeCatalog:
    def __init__(self, served: set[str]) -> None:
        self.served = served

    async def is_served(self, name: str) -> bool:
        return name in self.served


class ScriptedEngine:
    """Streams a script of SSE data payloads; hooks in the script run between them."""

    def __init__(self, script: Sequence[Step] = ()) -> None:
        self.script = list(script)
        self.models = FakeCatalog({MODEL})
        self.bodies: list[dict[str, Any]] = []
        self.closed = 0  # upstream connections closed

    @contextlib.asynccontextmanager
    async def stream(self, path: str, body: dict[str, Any]) -> AsyncIterator[AsyncIterator[bytes]]:
        self.bodies.append(body)
        try:
            yield self._events()
        finally:
            self.closed += 1

    async def _events(self) -> AsyncIterator[bytes]:
        for step in self.script:
            if isinstance(step, bytes):
                yield step
            else:
                await step()


class RecordingAudit:
    """Keeps appended events; ``gate`` (when set) is awaited before a response record commits."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []
        self.gate: asyncio.Event | None = None

    async def append(self, event: AuditEvent) -> None:
        if self.gate is not None and event.kind.endswith(".response"):
            await self.gate.wait()
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def response(self) -> AuditEvent:
        (only,) = [e for e in self.events if e.kind.endswith(".response")]
        return only


class InlinePool:
    async def run(self, work: Callable[[], Any], **_: Any) -> Any:
        return work()


@dataclass
class FakeServices:
    """What the pipeline takes from ``gateway.services.Services``; ``policy`` can be swapped."""

    current_policy: PolicyBundle
    engine: ScriptedEngine = field(default_factory=ScriptedEngine)
    audit: RecordingAudit = field(default_factory=RecordingAudit)
    limiter: MemoryRateLimiter = field(default_factory=lambda: MemoryRateLimiter(clock=lambda: 1_000_000.0))
    pii_pool: InlinePool = field(default_factory=InlinePool)
    settings: Settings = field(default_factory=Settings)
    background: set[Any] = field(default_factory=set)
    detector: Any = None

    @property
    def policy(self) -> PolicyBundle:
        return self.current_policy


def as_services(fake: FakeServices) -> Services:
    """The fake where the pipeline's signatures name the real services (it has what they use)."""
    return cast("Services", fake)


@pytest.fixture(scope="session")
def default_policy() -> PolicyBundle:
    return load_policy_bundle(DEFAULT_POLICY_DIR)


@pytest.fixture
def services(default_policy: PolicyBundle) -> FakeServices:
    return FakeServices(default_policy)


def principal(role: str = "service", key_id: str = "k1") -> Principal:
    return Principal(id=key_id, roles=(role,), tenant=None, auth_method="api_key")


def chat_body(text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": text}], **extra}


def arrival(
    services: FakeServices,
    body: dict[str, Any] | None = None,
    *,
    caller: Principal | None = None,
    route: Route = CHAT,
    headers: dict[str, str] | None = None,
) -> Arrival:
    """A request as the route hands it over, with the guard's snapshot of ``services.policy``."""
    who = caller or principal()
    body = body if body is not None else chat_body(stream=True)
    policy = services.policy
    return Arrival(
        route,
        who,
        "req-1",
        policy,
        authorize(policy.rbac, who, route.permission),
        body,
        str(body["model"]),
        bool(body.get("stream")),
        headers or {},
    )


async def collect(frames: AsyncIterator[bytes]) -> list[bytes]:
    return [frame async for frame in frames]


def payloads(frames: Sequence[bytes]) -> list[Any]:
    """The data of each SSE frame, JSON-decoded ("[DONE]" stays a string)."""
    out: list[Any] = []
    for frame in frames:
        data = frame.removeprefix(b"data: ").removesuffix(b"\n\n")
        out.append("[DONE]" if data == b"[DONE]" else json.loads(data))
    return out


def text_of(frames: Sequence[bytes]) -> str:
    parts: list[str] = []
    for payload in payloads(frames):
        if isinstance(payload, dict):
            for choice in payload.get("choices") or ():
                parts.append((choice.get("delta") or {}).get("content") or "")
    return "".join(parts)
