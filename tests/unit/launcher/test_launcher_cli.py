"""``gateway engine command`` and ``gateway engine launch`` (registered as gateway/cli.py does)."""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway.engine_cli import KEY_FILE, load_or_create_engine_key, register
from gateway.settings import load_settings
from tests.conftest import ROOT, free_port
from tests.unit.launcher.conftest import CHECKPOINTS, DEEPSEEK_V3, GPUS, R1_DISTILL

# What gateway/cli.py's build_parser does around register(): the `engine` subcommands and _common.
RUN_CLI = """
import argparse, sys
from gateway.engine_cli import register
from gateway.logging import configure_logging
from gateway.settings import load_settings
configure_logging("warning")  # as gateway.cli.main does: logs to stderr, results to stdout
parser = argparse.ArgumentParser(prog="gateway")
engine = parser.add_subparsers(dest="command").add_parser("engine").add_subparsers(dest="engine_command")
def common(p):
    p.add_argument("--config"); p.add_argument("--data-dir"); p.add_argument("--json", action="store_true")
register(engine, common)
args = parser.parse_args(sys.argv[1:])
sys.exit(args.handler(args, load_settings(None, overrides={"data_dir": args.data_dir})))
"""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config")
    parser.add_argument("--data-dir")
    parser.add_argument("--json", action="store_true")


def run_cli(argv: list[str], data_dir: Path) -> int:
    parser = argparse.ArgumentParser(prog="gateway")
    engine = parser.add_subparsers(dest="command").add_parser("engine").add_subparsers(dest="engine_command")
    register(engine, _common)
    args = parser.parse_args(["engine", *argv, "--data-dir", str(data_dir)])
    code: int = args.handler(args, load_settings(None, overrides={"data_dir": str(data_dir)}))
    return code


def test_engine_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    key, path = load_or_create_engine_key(tmp_path / "keys")
    assert path.name == KEY_FILE and len(key) == 43
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_or_create_engine_key(tmp_path / "keys") == (key, path)


def test_command_prints_explanations_and_a_command_without_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = str(CHECKPOINTS / R1_DISTILL)
    code = run_cli(
        ["command", "--model", model, "--gpus-file", str(GPUS / "a100-80gb.csv"), "--quantization", "fp8"],
        tmp_path,
    )
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    key = (tmp_path / "keys" / KEY_FILE).read_text()
    assert not any(key in line for line in out)
    comments = [line for line in out if line.startswith("# ")]
    assert any("Marlin" in line for line in comments)
    (command,) = [line for line in out if not line.startswith("# ")]
    assert "-m sglang.launch_server" in command and "--quantization fp8" in command
    assert f'--api-key="$(cat {tmp_path / "keys" / KEY_FILE})"' in command


def test_command_json_and_refusal_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = str(CHECKPOINTS / DEEPSEEK_V3)
    assert (
        run_cli(["command", "--model", model, "--gpus-file", str(GPUS / "h200.csv"), "--json"], tmp_path) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["precision"] == "FP8 W8A8" and "--quantization" not in data["argv"]
    assert "--api-key=<engine-api-key>" in data["argv"]

    assert run_cli(["command", "--model", model, "--gpus-file", str(GPUS / "a100-80gb.csv")], tmp_path) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: refused: this is an FP8 mixture-of-experts model")

    assert (
        run_cli(["command", "--model", str(tmp_path), "--gpus-file", str(GPUS / "h200.csv")], tmp_path) == 2
    )
    assert "config.json" in capsys.readouterr().err


@pytest.mark.e2e
def test_launch_supervises_the_engine_and_stops_it_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    argv = [
        sys.executable, "-c", RUN_CLI, "engine", "launch", "--simulator", "--json",
        "--model", str(CHECKPOINTS / R1_DISTILL), "--gpus-file", str(GPUS / "h100.csv"),
        "--port", str(port), "--data-dir", str(tmp_path), "--health-timeout-s", "60", "--grace-s", "10",
    ]  # fmt: skip
    launcher = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert launcher.stdout is not None
        ready = json.loads(_first_line(launcher, timeout_s=120))
        key = (tmp_path / "keys" / KEY_FILE).read_text()
        headers = {"Authorization": f"Bearer {key}"}
        assert ready["url"] == f"http://127.0.0.1:{port}"
        assert httpx.get(f"{ready['url']}/v1/models", headers=headers, trust_env=False).status_code == 200
        assert httpx.get(f"{ready['url']}/v1/models", trust_env=False).status_code == 401

        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=30) == 0
        engine_pid = ready["pid"]
        for _ in range(500):  # the launcher reaped it; the pid must be free
            try:
                os.kill(engine_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.01)
        else:
            pytest.fail("the engine outlived its launcher")
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{ready['url']}/health_generate", trust_env=False, timeout=2.0)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()


def _first_line(process: subprocess.Popen[str], timeout_s: float) -> str:
    """The process's first line of output; a clear failure (with its stderr) instead of a hang
    when none comes: a launcher whose engine never gets healthy supervises it forever."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout_s):
            process.kill()
            _, err = process.communicate()
            pytest.fail(f"no ready line within {timeout_s} s; launcher stderr:\n{err[-3000:]}")
    return process.stdout.readline()
