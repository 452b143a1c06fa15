"""Three simulators behind the gateway's worker pool: load to the least busy, queueing and 429 when
all are saturated, a killed worker never breaks a non-streaming request, all down is 503 and a
failing /readyz, and a client that leaves aborts its upstream generation."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import MODEL, Gateway, Simulator, start_gateway, start_simulator, stop, store_create_keys

pytestmark = pytest.mark.e2e

#: Fast health checks and breakers, no PII models (quicker start; the pool is what is tested here).
POOL_ENV = {
    "GATEWAY_PII__ENABLED": "false",
    "GATEWAY_ENGINE__HEALTH_INTERVAL_S": "0.2",
    "GATEWAY_ENGINE__HEALTH_TIMEOUT_S": "0.2",
    "GATEWAY_ENGINE__FAILURE_THRESHOLD": "1",
    "GATEWAY_ENGINE__COOLDOWN_S": "0.5",
}
#: Long enough for a stream to stay open while the test looks at the workers.
LONG_PROMPT = " ".join(f"word{i}" for i in range(60))


@pytest.fixture(scope="module")
def sims() -> Iterator[list[Simulator]]:
    started = [start_simulator("--ttft-ms", "200", "--tpot-ms", "100") for _ in range(3)]
    yield started
    for sim in started:
        stop(sim.proc)


def _gateway(tmp: Path, sims: list[Simulator], **env: str) -> Gateway:
    extra = [arg for sim in sims[1:] for arg in ("--engine-url", sim.url)]
    gw = start_gateway(tmp, sims[0].url, {**POOL_ENV, **env}, *extra)
    made = store_create_keys(gw.data_dir, {"service": {"roles": ["service"]}}, {**POOL_ENV, **env})
    gw.keys = {"service": str(made["service"]["key"])}
    return gw


@pytest.fixture(scope="module")
def gw(sims: list[Simulator], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = _gateway(tmp_path_factory.mktemp("pool"), sims)
    yield gateway
    stop(gateway.proc)


@pytest.fixture(scope="module")
def tight(sims: list[Simulator], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One request per worker, one place in the queue."""
    gateway = _gateway(
        tmp_path_factory.mktemp("tight"),
        sims,
        GATEWAY_ENGINE__MAX_IN_FLIGHT_PER_WORKER="1",
        GATEWAY_ENGINE__QUEUE_SIZE="1",
        GATEWAY_ENGINE__QUEUE_TIMEOUT_S="60",
    )
    yield gateway
    stop(gateway.proc)


def _body(content: str = "hi", stream: bool = False) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": content}], "stream": stream}


def _chat(gw: Gateway, content: str = "hi") -> httpx.Response:
    return httpx.post(
        gw.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {gw.keys['service']}"},
        json=_body(content),
        timeout=60,
        trust_env=False,
    )


@contextlib.contextmanager
def _open_streams(gw: Gateway, count: int) -> Iterator[list[httpx.Response]]:
    """``count`` long streams through the gateway, opened one after another and held open."""
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(httpx.Client(timeout=60, trust_env=False))
        responses = []
        for _ in range(count):
            response = stack.enter_context(
                client.stream(
                    "POST",
                    gw.url + "/v1/chat/completions",
                    headers={"Authorization": f"Bearer {gw.keys['service']}"},
                    json=_body(LONG_PROMPT, stream=True),
                )
            )
            assert response.status_code == 200
            responses.append(response)
        yield responses


def _eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _in_flight(sims: list[Simulator]) -> list[int]:
    return [sim.stats()["in_flight"] for sim in sims]


def _readyz(gw: Gateway) -> httpx.Response:
    return httpx.get(gw.url + "/readyz", timeout=10, trust_env=False)


def test_readyz_counts_the_workers_without_naming_them(gw: Gateway, sims: list[Simulator]) -> None:
    _eventually(lambda: _readyz(gw).status_code == 200)
    body = _readyz(gw).json()
    assert body["engine_workers"]["total"] == 3 and body["engine_workers"]["healthy"] == 3
    assert body["engine_workers"]["mode"] == "pool"
    assert "127.0.0.1" not in _readyz(gw).text


def test_load_goes_to_the_least_busy_and_a_client_that_leaves_aborts_upstream(
    gw: Gateway, sims: list[Simulator]
) -> None:
    _eventually(lambda: _in_flight(sims) == [0, 0, 0])
    cancelled_before = [sim.stats()["cancelled"] for sim in sims]
    with _open_streams(gw, 3):
        _eventually(lambda: _in_flight(sims) == [1, 1, 1])
    # Closing our side closes the gateway's upstream connection: each simulator saw it cancelled.
    _eventually(lambda: _in_flight(sims) == [0, 0, 0])
    assert [sim.stats()["cancelled"] for sim in sims] == [n + 1 for n in cancelled_before]


def test_the_workers_own_load_gauges_steer_requests_away(gw: Gateway, sims: list[Simulator]) -> None:
    # Three generations on the first worker that the gateway did not send (another gateway's).
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(httpx.Client(timeout=60, trust_env=False))
        for _ in range(3):
            stack.enter_context(
                client.stream("POST", sims[0].url + "/v1/chat/completions", json=_body(LONG_PROMPT, True))
            )

        def avoided() -> bool:
            sims[0].clear()
            for _ in range(4):
                assert _chat(gw).status_code == 200
            return not sims[0].requests()

        _eventually(avoided)


def test_all_saturated_queues_then_answers_429_with_retry_after(
    tight: Gateway, sims: list[Simulator]
) -> None:
    _eventually(lambda: _in_flight(sims) == [0, 0, 0])
    with ThreadPoolExecutor(1) as pool, _open_streams(tight, 3):
        queued = pool.submit(_chat, tight)
        _eventually(lambda: _readyz(tight).json()["engine_workers"]["waiting"] == 1)
        refused = _chat(tight)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"]["code"] == "engine_saturated"
        assert set(refused.json()["error"]) == {"message", "type", "param", "code"}
    # Our streams closed: the queued request got a worker.
    assert queued.result(timeout=60).status_code == 200


def test_a_worker_killed_mid_run_breaks_no_request(gw: Gateway, sims: list[Simulator]) -> None:
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(_chat, gw, f"request {i}") for i in range(36)]
        _eventually(lambda: sum(f.done() for f in futures) >= 6)
        sims[2].proc.send_signal(signal.SIGKILL)
        statuses = [f.result(timeout=60).status_code for f in futures]
    assert statuses == [200] * 36
    _eventually(lambda: _readyz(gw).json()["engine_workers"]["healthy"] == 2)
    assert _readyz(gw).status_code == 200


def test_all_workers_down_is_503_and_a_failing_readyz(
    gw: Gateway, tight: Gateway, sims: list[Simulator]
) -> None:
    for sim in sims:
        sim.proc.send_signal(signal.SIGKILL)
        sim.proc.wait()
    for gateway in (gw, tight):
        _eventually(lambda gateway=gateway: _readyz(gateway).status_code == 503)  # type: ignore[misc]
        body = _readyz(gateway).json()
        assert body["checks"]["engine"] is False and body["engine_workers"]["healthy"] == 0
        refused = _chat(gateway)
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "engine_unavailable"
