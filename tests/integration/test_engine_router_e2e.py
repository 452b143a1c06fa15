"""Router mode for real: the gateway in front of sglang-router in front of two simulators."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import (
    MODEL,
    ROOT,
    Gateway,
    Simulator,
    free_port,
    start_gateway,
    start_simulator,
    stop,
    store_create_keys,
    wait_http,
)

pytestmark = pytest.mark.e2e
pytest.importorskip("sglang_router")

ENV = {"GATEWAY_PII__ENABLED": "false", "GATEWAY_ENGINE__MODE": "router"}


@pytest.fixture(scope="module")
def router() -> Iterator[tuple[str, list[Simulator]]]:
    sims = [start_simulator() for _ in range(2)]
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sglang_router.launch_router",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            # Round robin makes "both get traffic" certain; production uses cache_aware (docs/engine.md).
            "--policy",
            "round_robin",
            "--worker-urls",
            *(sim.url for sim in sims),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/health", proc, timeout=60)
        yield url, sims
    finally:
        stop(proc)
        for sim in sims:
            stop(sim.proc)


@pytest.fixture(scope="module")
def gw(router: tuple[str, list[Simulator]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = start_gateway(tmp_path_factory.mktemp("router"), router[0], ENV)
    made = store_create_keys(gateway.data_dir, {"service": {"roles": ["service"]}}, ENV)
    gateway.keys = {"service": str(made["service"]["key"])}
    yield gateway
    stop(gateway.proc)


def test_requests_through_the_router_reach_both_workers(
    gw: Gateway, router: tuple[str, list[Simulator]]
) -> None:
    _, sims = router
    for sim in sims:
        sim.clear()
    for i in range(6):
        response = httpx.post(
            gw.url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {gw.keys['service']}"},
            json={"model": MODEL, "messages": [{"role": "user", "content": f"question {i}"}]},
            timeout=60,
            trust_env=False,
        )
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"]
    assert all(sim.requests() for sim in sims)
    assert sum(len(sim.requests()) for sim in sims) == 6


def test_readyz_sees_the_router_as_one_upstream_without_a_breaker(gw: Gateway) -> None:
    response = httpx.get(gw.url + "/readyz", timeout=10, trust_env=False)
    assert response.status_code == 200
    assert response.json()["engine_workers"] == {
        "mode": "router",
        "total": 1,
        "healthy": 1,
        "open_circuits": 0,
        "in_flight": 0,
        "waiting": 0,
    }
