"""Shared fixtures: real processes (simulator, gateway) on free local ports, and service probes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
MODEL = "deepseek-ai/DeepSeek-V3"
POSTGRES_URL = os.environ.get(
    "GATEWAY_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0, ok=(200,)) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}: {url}")
        try:
            if httpx.get(url, timeout=1.0, trust_env=False).status_code in ok:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def gateway_cli(
    *args: str, data_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args, "--data-dir", str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@dataclass
class Simulator:
    url: str
    proc: subprocess.Popen[bytes]

    def requests(self) -> list[dict]:
        return httpx.get(self.url + "/sim/requests", trust_env=False).json()["requests"]

    def clear(self) -> None:
        httpx.delete(self.url + "/sim/requests", trust_env=False)

    def stats(self) -> dict:
        return httpx.get(self.url + "/sim/stats", trust_env=False).json()


def start_simulator(*extra: str) -> Simulator:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.simulator", "--port", str(port), *extra],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/health", proc)
    return Simulator(url, proc)


@dataclass
class Gateway:
    url: str
    proc: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path
    keys: dict[str, str] = field(default_factory=dict)

    def create_key(self, role: str, *extra: str) -> str:
        result = gateway_cli(
            "keys",
            "create",
            "--name",
            f"test-{role}",
            "--role",
            role,
            "--json",
            *extra,
            data_dir=self.data_dir,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["key"]

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_gateway(tmp_path: Path, engine_url: str, env: dict[str, str] | None = None, *extra: str) -> Gateway:
    port = free_port()
    data_dir = tmp_path / "var"
    log_path = tmp_path / "gateway.log"
    log_file = log_path.open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--engine-url",
            engine_url,
            *extra,
        ],
        cwd=ROOT,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", proc, timeout=90)
    except RuntimeError:
        stop(proc)
        raise RuntimeError(
            "gateway did not start:\n" + log_path.read_text(errors="replace")[-4000:]
        ) from None
    return Gateway(url, proc, data_dir, log_path)


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    sim = start_simulator()
    yield sim
    stop(sim.proc)


@pytest.fixture(scope="module")
def gateway(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = start_gateway(tmp_path_factory.mktemp("gw"), simulator.url)
    yield gw
    stop(gw.proc)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    if not port_open("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not port_open("127.0.0.1", 6379):
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    return REDIS_URL


def store_create_keys(
    data_dir: Path, specs: dict[str, dict[str, object]], env: dict[str, str] | None = None
) -> dict[str, dict[str, object]]:
    """Keys made in-process through the gateway's KeyStore on a gateway's data directory (fast setup:
    no CLI process per key). ``specs`` maps a label to ``KeyStore.create`` keyword arguments."""
    import asyncio

    from gateway.services import create_db_engine, open_key_store
    from gateway.settings import load_settings

    async def make() -> dict[str, dict[str, object]]:
        settings = load_settings(environ=env or {}, overrides={"data_dir": str(data_dir)})
        db = create_db_engine(settings)
        try:
            store = await open_key_store(settings, db)
            out: dict[str, dict[str, object]] = {}
            for label, spec in specs.items():
                record, plaintext = await store.create(f"test-{label}", **spec)  # type: ignore[arg-type]
                out[label] = {**record.to_dict(), "key": plaintext}
            return out
        finally:
            await db.dispose()

    return asyncio.run(make())
