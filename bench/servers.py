"""Server processes of the side-by-side benchmark: start, wait until ready, measure, stop.

Every server runs in its own session (process group), so stopping it also stops any worker it
forked, and its peak resident memory is read over the whole process tree from ``/proc``. Nothing
here imports the gateway or the engine: they run as subprocesses, as an operator would run them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
MODEL = "deepseek-ai/DeepSeek-V3"  # the simulator's served model


@dataclass
class Server:
    """One running server: its name in the tables, base URL, process and log file."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    headers: dict[str, str] = field(default_factory=dict)


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(
    name: str,
    command: Sequence[str],
    log_path: Path,
    port: int,
    env: Mapping[str, str] | None = None,
    tree: Path = ROOT,
) -> Server:
    """Start ``command`` in ``tree`` in its own process group, output to ``log_path``."""
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            list(command),
            cwd=tree,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    return Server(name, f"http://127.0.0.1:{port}", proc, log_path)


def wait_ready(server: Server, path: str, timeout_s: float) -> None:
    """Poll ``path`` until it answers 200; raise with the log's tail if the server dies or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode}:\n{log_tail(server)}")
        try:
            if httpx.get(server.url + path, timeout=2.0, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} not ready after {timeout_s:.0f} s:\n{log_tail(server)}")


def log_tail(server: Server, chars: int = 3000) -> str:
    """The end of a server's log, for error messages."""
    try:
        return server.log_path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def stop(server: Server) -> None:
    """Stop a server and everything in its process group: SIGTERM, then SIGKILL after 15 s."""
    if server.proc.poll() is not None:
        return
    try:
        os.killpg(server.proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(server.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.proc.wait()


def process_tree(root_pid: int) -> list[int]:
    """``root_pid`` and all its living descendants (read from ``/proc``)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 is the parent pid; the command name (field 2) may hold spaces, so split after ")".
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [root_pid]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, ()))
    return tree


def peak_rss_kb(root_pid: int) -> tuple[int, int]:
    """Sum of ``VmHWM`` (peak resident set) over a process tree in kB, and how many processes."""
    total, count = 0, 0
    for pid in process_tree(root_pid):
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
                count += 1
    return total, count


# --------------------------------------------------------------------------- the three kinds


def start_upstream(work: Path, tree: Path = ROOT) -> Server:
    """The project's SGLang simulator, echo mode, no artificial delay (answers in about 1-2 ms)."""
    port = free_port()
    command = [sys.executable, "-m", "engine.simulator", "--port", str(port)]
    return spawn("upstream", command, work / "upstream.log", port, tree=tree)


def start_floor(work: Path, upstream_url: str, tree: Path = ROOT) -> Server:
    """The passthrough floor (:mod:`bench.floor_app`): the gateway's HTTP stack, nothing else."""
    port = free_port()
    command = [sys.executable, "-m", "bench.floor_app", "--port", str(port), "--upstream", upstream_url]
    return spawn("floor", command, work / "floor.log", port, tree=tree)


def service_policy_dir(work: Path) -> Path:
    """A site policy directory that lifts the ``service`` role's rate limits for load runs."""
    site = work / "policy"
    site.mkdir(exist_ok=True)
    (site / "roles.yaml").write_text(
        "roles:\n  service:\n    requests_per_minute: null\n    tokens_per_day: null\n"
    )
    return site


def start_gateway(
    name: str, work: Path, upstream_url: str, env: Mapping[str, str], tree: Path = ROOT
) -> Server:
    """A gateway (one process, SQLite, dev key ring under ``work/name``) in front of the upstream.

    ``tree`` is the source tree it runs from (the checkout by default; another tree's gateway can be
    measured with the same venv, since the working directory comes first on ``sys.path``).
    """
    port = free_port()
    data_dir = work / name
    data_dir.mkdir()
    command = [
        sys.executable,
        "-m",
        "gateway.cli",
        "serve",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        "--engine-url",
        upstream_url,
        "--policy-dir",
        str(service_policy_dir(work)),
    ]
    return spawn(name, command, work / f"{name}.log", port, env, tree)


def mint_gateway_key(server: Server, work: Path, env: Mapping[str, str], tree: Path = ROOT) -> None:
    """Create a ``service`` API key with the gateway's own CLI and put it in the server's headers."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "keys",
            "create",
            "--name",
            "bench",
            "--role",
            "service",
            "--json",
            "--data-dir",
            str(work / server.name),
        ],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"keys create failed for {server.name}:\n{result.stderr[-2000:]}")
    server.headers = {"Authorization": f"Bearer {json.loads(result.stdout)['key']}"}
