"""Engine failures through the gateway: clear errors, no false [DONE], and an audit trail of the failure."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import MODEL, Gateway, Simulator, free_port, start_gateway, start_simulator, stop

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Simulator, Gateway, str]]:
    script = tmp_path_factory.mktemp("script") / "script.json"
    script.write_text(json.dumps(["ok"]))
    sim = start_simulator("--mode", "script", "--script", str(script))
    gw = start_gateway(tmp_path_factory.mktemp("gw"), sim.url)
    key = gw.create_key("service")
    yield sim, gw, key
    stop(gw.proc)
    stop(sim.proc)


def _set_script(sim: Simulator, answers: list) -> None:
    assert httpx.put(sim.url + "/sim/script", json=answers).status_code == 200


def _responses(gw: Gateway, request_id: str) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{gw.data_dir / 'gateway.db'}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT kind, decision FROM audit_records WHERE request_id = ? ORDER BY seq", (request_id,)
        ).fetchall()


def _stream(gw: Gateway, key: str) -> tuple[str, list[str]]:
    """(the gateway's request id, the stream's data lines)."""
    with httpx.stream(
        "POST",
        gw.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
        return response.headers["x-request-id"], lines


def test_worker_dying_mid_stream_ends_without_done_and_is_recorded(scripted) -> None:
    sim, gw, key = scripted
    _set_script(sim, [{"content": ["one ", "two ", "three ", "four "], "abort_after": 2}])
    request_id, lines = _stream(gw, key)
    assert "data: [DONE]" not in lines
    assert "error" in json.loads(lines[-1][5:])
    assert _responses(gw, request_id) == [("chat.request", "allow"), ("chat.response", "error")]


def test_engine_refusal_is_passed_on_and_recorded(scripted) -> None:
    sim, gw, key = scripted
    _set_script(sim, [{"error": {"status": 400, "message": "context too long"}}])
    response = httpx.post(
        gw.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 400 and set(response.json()["error"]) == {
        "message",
        "type",
        "param",
        "code",
    }
    request_id = response.headers["x-request-id"]
    assert _responses(gw, request_id) == [("chat.request", "allow"), ("chat.response", "error")]


def test_overloaded_engine_is_503(scripted) -> None:
    sim, gw, key = scripted
    _set_script(sim, [{"error": {"status": 503, "message": "overloaded"}}])
    response = httpx.post(
        gw.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "engine_unavailable"


def test_unreachable_engine_is_a_503_not_a_broken_stream(tmp_path) -> None:
    gw = start_gateway(tmp_path, f"http://127.0.0.1:{free_port()}")
    try:
        key = gw.create_key("service")
        for stream in (False, True):
            response = httpx.post(
                gw.url + "/v1/chat/completions",
                headers={"Authorization": f"Bearer {key}"},
                json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": stream},
            )
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "engine_unavailable"
            # The model cannot be checked against the engine's list: refused before it is recorded.
            assert _responses(gw, response.headers["x-request-id"]) == []
        assert httpx.get(gw.url + "/readyz").status_code == 503
    finally:
        stop(gw.proc)
