"""`gateway demo` and `gateway serve` as real processes: the port first, then a key; banners."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import MODEL, ROOT, Gateway, free_port, gateway_cli, stop

pytestmark = pytest.mark.e2e

BANNER_END = "Ctrl-C stops both."


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port held by a listening socket of this test process."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield int(holder.getsockname()[1])


def _keys(data_dir: Path) -> list[dict]:
    listing = gateway_cli("keys", "list", "--json", data_dir=data_dir)
    assert listing.returncode == 0, listing.stderr
    return json.loads(listing.stdout)["data"]


@pytest.mark.parametrize("command", ["demo", "serve"])
def test_port_taken_exits_nonzero_with_a_clear_message_and_no_key(
    tmp_path: Path, taken_port: int, command: str
) -> None:
    data_dir = tmp_path / "var"
    result = gateway_cli(command, "--port", str(taken_port), data_dir=data_dir)
    assert [key for key in _keys(data_dir) if key["status"] == "active"] == []
    assert "gw_" not in result.stdout + result.stderr
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{taken_port}" in result.stderr


def test_demo_whose_gateway_never_gets_ready_exits_nonzero_and_leaves_no_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    code = (
        "import sys, gateway.cli as cli; cli.DEMO_READY_TIMEOUT_S = 0.0; "
        f"sys.exit(cli.main(['demo', '--port', '0', '--data-dir', {str(data_dir)!r}]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert [key for key in _keys(data_dir) if key["status"] == "active"] == []
    assert "gw_" not in result.stdout
    assert result.returncode == 1 and "no key was created" in result.stderr


def _wait_for(path: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 300.0) -> str:
    # A bound for a hung process, not a speed requirement: a loaded machine starts slowly.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text(errors="replace")
        if text in content:
            return content
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not printed (exit {proc.poll()}):\n{content[-3000:]}")


def _snippet(banner: str) -> str:
    lines = banner.splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith("<<'EOF'"))
    end = lines.index("EOF", start)
    return "\n".join(lines[start : end + 1]) + "\n"


def test_demo_prints_a_key_that_works_once_the_gateway_is_ready(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "var"
    out, err = tmp_path / "demo.out", tmp_path / "demo.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "demo", "--port", str(port), "--data-dir", str(data_dir)],
            cwd=ROOT,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        banner = _wait_for(out, BANNER_END, proc)
        base = f"http://127.0.0.1:{port}"
        assert f"gateway on {base}" in banner
        assert _listening_urls(err.read_text()) == [base]
        key = next(word for word in banner.split() if word.startswith("gw_"))
        assert [(k["name"], k["status"]) for k in _keys(data_dir)] == [("demo-clinician", "active")]
        # Printed after /readyz answered: the key works at once.
        response = httpx.post(
            base + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}", "X-Data-Subject": "patient-0001"},
            json={"model": MODEL, "messages": [{"role": "user", "content": "hello"}]},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        # The SDK example names this project's interpreter (which has the openai SDK), not `python`.
        snippet = _snippet(banner)
        interpreter = shlex.split(snippet.splitlines()[0])[0]
        assert os.path.isabs(interpreter) and os.access(interpreter, os.X_OK)
        run = subprocess.run(
            ["bash", "-c", snippet], capture_output=True, text=True, timeout=120, env=dict(os.environ)
        )
        assert run.returncode == 0, run.stderr
        assert "Jane Doe" in run.stdout  # restored for the clinician role
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        stop(proc)


def _listening_urls(log: str) -> list[str]:
    events = (json.loads(line) for line in log.splitlines() if line.startswith("{"))
    return [event["url"] for event in events if event.get("event") == "gateway.listening"]


def test_serve_logs_the_gateway_url_once_it_serves(gateway: Gateway) -> None:
    """stderr is JSON lines (see test_proxy_e2e): the address is an event there."""
    assert _listening_urls(gateway.log_text()) == [gateway.url]


def test_serve_with_the_simulator_names_the_gateway_url_in_its_banner(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port), "--data-dir", str(tmp_path)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        text = _wait_for(log, '"gateway.listening"', proc)
        banner = next(line for line in text.splitlines() if "No engine URL configured" in line)
        assert f"Gateway on http://127.0.0.1:{port}." in banner
    finally:
        stop(proc)
