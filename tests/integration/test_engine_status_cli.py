"""``gateway engine status``: the command's own probe of the configured upstreams."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Simulator, free_port, gateway_cli, start_simulator, stop

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    started = start_simulator()
    yield started
    stop(started.proc)


def test_status_shows_health_and_load_per_upstream_without_credentials(
    sim: Simulator, tmp_path: Path
) -> None:
    dead = f"http://operator:s3cret-pass@127.0.0.1:{free_port()}"
    result = gateway_cli(
        "engine", "status", "--json", "--engine-url", sim.url, "--engine-url", dead, data_dir=tmp_path
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert (status["mode"], status["healthy"], status["total"]) == ("pool", 1, 2)
    up, down = status["workers"]
    assert up["url"] == sim.url and up["healthy"] and up["running"] == 0.0 and up["queued"] == 0.0
    assert not down["healthy"] and down["last_error"] == "refused"
    assert "s3cret" not in result.stdout + result.stderr


def test_status_table_and_exit_status_when_nothing_is_up(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = gateway_cli("engine", "status", "--engine-url", dead, data_dir=tmp_path)
    assert result.returncode == 1
    assert "0 of 1 healthy" in result.stdout and "refused" in result.stdout


def test_asking_a_gateway_needs_the_key_in_the_environment(tmp_path: Path) -> None:
    result = gateway_cli(
        "engine",
        "status",
        "--gateway",
        "http://127.0.0.1:1",
        data_dir=tmp_path,
        env={"GW_ADMIN_KEY": ""},
    )
    assert result.returncode == 2 and "GW_ADMIN_KEY" in result.stderr
