"""The stream relay, in process: scripted upstream frames (no HTTP) through admission and the
relay, checking what the client gets and what the audit log holds, and in which order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from gateway.pipeline import admit, drain_background, open_stream
from gateway.pipeline.shapes import CONTENT_FILTER_NOTICE, SSE_DONE
from policies.bundle import DEFAULT_POLICY_DIR, PolicyBundle, load_policy_bundle

from .conftest import (
    DONE,
    FakeServices,
    Step,
    arrival,
    as_services,
    chat_body,
    chunk,
    collect,
    payloads,
    text_of,
    usage_chunk,
)

BANNED = "build a pipe bomb"  # a weapons_synthesis keyword: blocks the service role's answers


async def _stream(services: FakeServices, body: dict[str, Any] | None = None) -> AsyncGenerator[bytes, None]:
    exchange = await admit(as_services(services), arrival(services, body), services.detector)
    return await open_stream(as_services(services), exchange)


async def test_frames_are_filtered_and_done_follows_the_response_record(services: FakeServices) -> None:
    secret = "sk-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    services.engine.script = [
        chunk(role=True),
        chunk("Your key is "),
        chunk(secret[:10]),
        chunk(secret[10:] + " ok"),
        chunk(finish="stop"),
        usage_chunk(),
        DONE,
    ]
    seen_at_frame: list[list[str]] = []
    frames: list[bytes] = []
    async for frame in await _stream(services):
        frames.append(frame)
        seen_at_frame.append(services.audit.kinds())
    assert frames[-1] == SSE_DONE
    assert seen_at_frame[-1] == ["chat.request", "chat.response"]
    # The response record was committed after every content frame went out and before [DONE].
    assert all("chat.response" not in kinds for kinds in seen_at_frame[:-1])
    delivered = text_of(frames)
    assert secret not in delivered and "sk-" not in delivered
    assert delivered.startswith("Your key is ") and delivered.endswith(" ok")
    record = services.audit.response()
    assert record.decision == "allow" and record.payload is not None
    assert record.payload["delivered"] == "complete"
    assert record.payload["answer"]["0"]["content"] == "Your key is " + secret + " ok"  # raw, encrypted
    assert [key for key in record.entity_counts if key.startswith("redact:")] != []


async def test_engine_error_mid_stream_ends_with_an_error_event_and_no_done(services: FakeServices) -> None:
    services.engine.script = [chunk("partial "), chunk("answer"), b'{"error": {"message": "worker died"}}']
    frames = await collect(await _stream(services))
    assert SSE_DONE not in frames
    last = payloads(frames)[-1]
    assert last["error"]["code"] == "engine_error" and "worker died" not in json.dumps(last)
    record = services.audit.response()
    assert record.decision == "error" and record.payload is not None
    assert record.payload["delivered"] == "engine_error"


async def test_upstream_that_stops_without_done_is_not_a_complete_answer(services: FakeServices) -> None:
    services.engine.script = [chunk("half an ans"), chunk("wer")]
    frames = await collect(await _stream(services))
    assert SSE_DONE not in frames
    assert "error" in payloads(frames)[-1]
    record = services.audit.response()
    assert record.decision == "error" and record.payload is not None
    assert record.payload["delivered"] == "failed"
    assert record.payload["answer"]["error"] == "EngineUnavailable"


async def test_a_block_rule_ends_the_stream_with_content_filter_then_done(services: FakeServices) -> None:
    services.engine.script = [chunk("Here is how to "), chunk(BANNED), chunk(" step by step"), DONE]
    frames = await collect(await _stream(services))
    assert frames[-1] == SSE_DONE
    final = payloads(frames)[-2]
    assert final["choices"][0]["finish_reason"] == "content_filter"
    assert final["choices"][0]["delta"]["content"] == CONTENT_FILTER_NOTICE
    assert BANNED not in text_of(frames) and "step by step" not in text_of(frames)
    record = services.audit.response()
    assert record.decision == "block" and record.payload is not None
    assert record.payload["delivered"] == "blocked"


async def test_usage_is_stripped_unless_the_client_asked_for_it(services: FakeServices) -> None:
    script = [chunk("hi"), chunk(finish="stop"), usage_chunk(total=42), DONE]
    services.engine.script = list(script)
    plain = payloads(await collect(await _stream(services)))
    assert not any(isinstance(p, dict) and p.get("usage") for p in plain)
    # The engine is always asked for usage: the audit record and the token quota need it.
    assert services.engine.bodies[-1]["stream_options"] == {"include_usage": True}
    assert services.audit.response().usage == {
        "prompt_tokens": 10,
        "completion_tokens": 32,
        "total_tokens": 42,
    }

    services.engine.script = list(script)
    asked = chat_body(stream=True, stream_options={"include_usage": True})
    with_usage = payloads(await collect(await _stream(services, asked)))
    assert any(isinstance(p, dict) and (p.get("usage") or {}).get("total_tokens") == 42 for p in with_usage)


async def test_used_tokens_are_charged_to_the_credentials_daily_quota(services: FakeServices) -> None:
    services.engine.script = [chunk("hi"), chunk(finish="stop"), usage_chunk(total=42), DONE]
    await collect(await _stream(services))
    quota = services.current_policy.rbac.roles["service"].tokens_per_day
    assert quota is not None
    left = await services.limiter.check_tokens("api_key:k1", quota)
    assert left.remaining == quota - 42


async def test_a_client_that_disconnects_is_recorded_in_the_background(services: FakeServices) -> None:
    release = asyncio.Event()

    async def hold() -> None:
        await release.wait()

    services.engine.script = [chunk("first "), hold, chunk("never sent"), DONE]
    services.audit.gate = asyncio.Event()  # the record is still being written when close returns
    frames = await _stream(services)
    first = await frames.__anext__()
    assert "first" in text_of([first])
    await frames.aclose()  # the client went away
    assert services.engine.closed == 1  # the upstream connection is closed (the worker aborts)
    assert len(services.background) == 1 and "chat.response" not in services.audit.kinds()
    services.audit.gate.set()
    assert await drain_background(services, timeout_s=5.0)
    record = services.audit.response()
    assert record.payload is not None and record.payload["delivered"] == "client_disconnected"
    assert record.payload["answer"]["0"]["content"] == "first "
    assert not services.background


async def test_a_cancelled_stream_is_recorded_in_the_background(services: FakeServices) -> None:
    waiting = asyncio.Event()

    async def stall() -> None:
        waiting.set()
        await asyncio.Event().wait()  # the worker is slow; the client gives up meanwhile

    services.engine.script = [chunk("some "), stall, DONE]
    frames = await _stream(services)

    async def consume() -> None:
        async for _ in frames:
            pass

    task = asyncio.create_task(consume())
    await waiting.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert await drain_background(services, timeout_s=5.0)
    record = services.audit.response()
    assert record.payload is not None and record.payload["delivered"] == "client_disconnected"


async def test_drain_gives_up_after_its_timeout_and_cancels_what_is_left(services: FakeServices) -> None:
    stuck = asyncio.get_running_loop().create_task(asyncio.Event().wait())
    services.background.add(stuck)
    assert not await drain_background(services, timeout_s=0.01)
    await asyncio.gather(stuck, return_exceptions=True)
    assert stuck.cancelled()


def _lenient_policy(site: Path) -> PolicyBundle:
    """The default policy without the weapons topic and daily token quota of the service role."""
    (site / "output.yaml").write_text("output:\n  role_topics:\n    service: []\n")
    (site / "roles.yaml").write_text("roles:\n  service:\n    tokens_per_day: null\n")
    lenient = load_policy_bundle(DEFAULT_POLICY_DIR, site)
    assert lenient.rbac.roles["service"].tokens_per_day is None
    return lenient


async def test_a_policy_reload_mid_stream_leaves_the_output_rules_of_the_first_policy(
    services: FakeServices, tmp_path: Path
) -> None:
    second = _lenient_policy(tmp_path)

    async def reload() -> None:
        services.current_policy = second

    script: list[Step] = [chunk("Here is how to "), reload, chunk(BANNED), chunk(finish="stop"), DONE]
    services.engine.script = list(script)
    frames = await collect(await _stream(services))
    assert services.policy is second  # the reload happened mid-stream
    final = payloads(frames)[-2]
    assert final["choices"][0]["finish_reason"] == "content_filter"  # the first policy's rules
    assert BANNED not in text_of(frames)
    assert services.audit.response().decision == "block"

    # The same answer under the second policy from the start is not blocked.
    services.audit.events.clear()
    services.engine.script = list(script)
    again = await collect(await _stream(services))
    assert BANNED in text_of(again) and services.audit.response().decision == "allow"


async def test_a_policy_reload_mid_stream_charges_the_first_policys_quota(
    services: FakeServices, tmp_path: Path
) -> None:
    first, second = services.current_policy, _lenient_policy(tmp_path)

    async def reload() -> None:
        services.current_policy = second

    services.engine.script = [chunk("hi"), reload, chunk(finish="stop"), usage_chunk(total=42), DONE]
    assert (await collect(await _stream(services)))[-1] == SSE_DONE
    quota = first.rbac.roles["service"].tokens_per_day
    assert quota is not None  # the second policy has no quota: only the first one's is charged
    assert (await services.limiter.check_tokens("api_key:k1", quota)).remaining == quota - 42
