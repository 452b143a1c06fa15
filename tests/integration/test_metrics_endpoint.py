"""GET /metrics in a real app: Prometheus text that parses and holds the gateway's series, for
callers with ``metrics:read`` only (401 without a credential, 403 without the permission), or on
a separate loopback port when ``observability.metrics_port`` is set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from gateway.observability.labels import OTHER
from gateway.observability.metrics import METRIC_NAMES
from gateway.settings import load_settings
from tests.conftest import free_port

ROLES = ("admin", "service", "auditor", "clinician", "dpo")
POOL_FAMILIES = {"gateway_engine_workers", "gateway_engine_queue_depth"}


def _settings(data_dir: Path, **observability: Any) -> Any:
    return load_settings(
        environ={},
        overrides={
            "data_dir": str(data_dir),
            "engine": {"urls": ["http://127.0.0.1:1"]},  # nothing here talks to the engine
            "pii": {"enabled": False},
            "observability": observability,
        },
    )


def _keys(client: TestClient[Any]) -> dict[str, str]:
    services = client.app.state.services
    keys: dict[str, str] = {}

    async def make() -> None:
        for role in ROLES:
            _, plaintext = await services.keys.create(f"metrics-{role}", [role])
            keys[role] = plaintext

    client.blocking_portal.call(make)
    return keys


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    app = create_app(_settings(tmp_path_factory.mktemp("metrics")))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def keys(client: TestClient[Any]) -> dict[str, str]:
    return _keys(client)


def _families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_no_credential_is_401(client: TestClient[Any]) -> None:
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert "gateway_" not in response.text


@pytest.mark.parametrize("role", ["service", "auditor", "clinician", "dpo"])
def test_roles_without_metrics_read_get_403(client: TestClient[Any], keys: dict[str, str], role: str) -> None:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {keys[role]}"})
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"
    assert "gateway_" not in response.text


def test_admin_reads_prometheus_text_with_the_gateway_series(
    client: TestClient[Any], keys: dict[str, str]
) -> None:
    metrics = client.app.state.services.observability.metrics
    metrics.observe_request(
        route="/v1/chat/completions",
        model=None,
        role="clinician",
        status=200,
        duration_s=0.2,
        upstream_s=0.15,
    )
    metrics.observe_request(
        route="/v1/chat/completions?q=Mary", model=None, role="x y", status=200, duration_s=0.1
    )
    metrics.count_pii_entities({"PHONE_NUMBER": 2}, direction="request")
    response = client.get("/metrics", headers={"Authorization": f"Bearer {keys['admin']}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-store"
    families = _families(response.text)
    # Counters appear without their _total suffix in the parser's family names.
    exported = {f"{name}_total" if family.type == "counter" else name for name, family in families.items()}
    assert METRIC_NAMES - POOL_FAMILIES <= exported
    requests = {
        tuple(sorted(s.labels.items())): s.value
        for s in families["gateway_requests"].samples
        if s.name.endswith("_total")
    }
    # The route vocabulary came from the app's route table, the roles from the policy.
    known = (("model", OTHER), ("role", "clinician"), ("route", "/v1/chat/completions"), ("status", "200"))
    assert requests[known] == 1
    assert requests[(("model", OTHER), ("role", OTHER), ("route", OTHER), ("status", "200"))] == 1
    assert "Mary" not in response.text


def test_openmetrics_when_the_scraper_asks(client: TestClient[Any], keys: dict[str, str]) -> None:
    response = client.get(
        "/metrics",
        headers={
            "Authorization": f"Bearer {keys['admin']}",
            "Accept": "application/openmetrics-text; version=1.0.0",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


def test_separate_loopback_port(tmp_path: Path) -> None:
    port = free_port()
    app = create_app(_settings(tmp_path, metrics_port=port))
    with TestClient(app, raise_server_exceptions=False) as client:
        keys = _keys(client)
        observability = client.app.state.services.observability
        assert observability.listener_port == port
        on_main = client.get("/metrics", headers={"Authorization": f"Bearer {keys['admin']}"})
        assert on_main.status_code == 404
        assert on_main.json()["error"]["type"] == "not_found_error"
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5, trust_env=False)
        assert scraped.status_code == 200
        assert "gateway_requests_total" in _families(scraped.text) or "gateway_requests" in _families(
            scraped.text
        )
    # The listener stops with the app.
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2, trust_env=False)


def test_metrics_port_must_differ_and_needs_one_worker(tmp_path: Path) -> None:
    from gateway.settings import ConfigError

    with pytest.raises(ConfigError, match=r"observability\.metrics_port"):
        load_settings(
            environ={}, overrides={"server": {"port": 9100}, "observability": {"metrics_port": 9100}}
        )
    with pytest.raises(ConfigError, match=r"observability\.metrics_port"):
        load_settings(
            environ={},
            overrides={
                "server": {"workers": 2},
                "ratelimit": {"redis_url": "redis://127.0.0.1:6379/0"},
                "observability": {"metrics_port": 9100},
            },
        )


def test_the_engine_pool_is_reported_at_scrape_time(client: TestClient[Any], keys: dict[str, str]) -> None:
    """The app wires its engine pool into the gauges: workers by health and the wait queue."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {keys['admin']}"})
    assert response.status_code == 200
    families = _families(response.text)
    workers = {s.labels["state"]: s.value for s in families["gateway_engine_workers"].samples}
    status = client.app.state.services.engine.pool_status()
    assert workers["healthy"] + workers["unhealthy"] == len(status.workers) >= 1
    assert [s.value for s in families["gateway_engine_queue_depth"].samples] == [float(status.waiting)]
