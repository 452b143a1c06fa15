"""The command line starts without the server, the simulator or the NER stack.

Each case runs the real ``python -X importtime -m gateway.cli ...`` in a subprocess and checks the
modules it imported (not how long it took: the machine's load must not decide the outcome).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Packages that only `serve`, `demo`, `engine sim` and detection need.
HEAVY = frozenset({"spacy", "presidio_analyzer", "litestar", "uvicorn"})


def _run_cli(*args: str, data_dir: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the CLI with ``-X importtime``; return the result and the top-level packages it imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_DATA_DIR"] = str(data_dir)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gateway.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    imported = {
        line.rsplit("|", 1)[1].strip().split(".", 1)[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "gateway" in imported, "the import list was not captured"
    return result, imported


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("keys", "--help"),
        ("keys", "list", "--help"),
        ("keys", "create", "--help"),
        ("audit", "verify", "--help"),
        ("engine", "sim", "--help"),
    ],
    ids=" ".join,
)
def test_help_imports_no_server_simulator_or_ner(args: tuple[str, ...], tmp_path: Path) -> None:
    result, imported = _run_cli(*args, data_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage: gateway" in result.stdout
    assert imported.isdisjoint(HEAVY), sorted(imported & HEAVY)


def test_keys_list_imports_no_server_simulator_or_ner(tmp_path: Path) -> None:
    result, imported = _run_cli("keys", "list", "--json", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["data"] == []
    assert imported.isdisjoint(HEAVY), sorted(imported & HEAVY)


def test_keys_list_answers_on_an_empty_data_dir(tmp_path: Path) -> None:
    result, _ = _run_cli("keys", "list", "--json", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == {"data": [], "next_cursor": None}


def test_engine_sim_help_describes_the_simulator_flags(tmp_path: Path) -> None:
    result, _ = _run_cli("engine", "sim", "--help", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage: gateway engine sim" in result.stdout
    assert "--port" in result.stdout and "--api-key" in result.stdout
