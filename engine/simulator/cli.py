"""The simulator as a process: command-line flags, the banner, uvicorn, and stopping with its parent.

``python -m engine.simulator`` runs ``main``; ``gateway engine sim`` and ``gateway serve`` reuse
``add_sim_arguments``, ``config_from_args`` and ``run_simulator``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Literal

from engine.simulator.config import SimConfig
from engine.simulator.script import load_script

BANNER = (
    "*** SGLang SIMULATOR (engine.simulator) - for tests and benchmarks only. It is NOT an inference "
    "engine: no model is loaded; answers are {mode}. Serving the SGLang HTTP API on http://{host}:{port}"
    " as model '{model}'. ***"
)


def run_simulator(config: SimConfig) -> None:
    """Serve the simulator with uvicorn until interrupted, after a banner on stderr saying what it is."""
    # Imported here: every ``gateway`` command builds its parser with ``add_sim_arguments``, and
    # only serving needs the web framework and the server.
    import uvicorn

    from engine.simulator.app import create_sim_app

    app = create_sim_app(config)
    mode = "echoed back" if config.mode == "echo" else "read from a script file"
    print(
        BANNER.format(mode=mode, host=config.host, port=config.port, model=config.model),
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )


def add_sim_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's flags (``--port``, ``--host``, ``--mode``, ...) to ``parser``."""
    defaults = SimConfig()
    parser.add_argument("--port", type=int, default=defaults.port, help="port to listen on")
    parser.add_argument("--host", default=defaults.host, help="address to listen on (default loopback)")
    parser.add_argument(
        "--mode",
        choices=("echo", "script"),
        default=None,
        help="echo the last user message, or serve a script (default: script when --script "
        "is given, else echo)",
    )
    parser.add_argument(
        "--script",
        dest="script_path",
        default=None,
        metavar="FILE",
        help="JSON script of answers (see engine.sim_script)",
    )
    parser.add_argument(
        "--ttft-ms", type=float, default=defaults.ttft_ms, help="delay before the first token"
    )
    parser.add_argument("--tpot-ms", type=float, default=defaults.tpot_ms, help="delay between tokens")
    parser.add_argument("--api-key", default=None, help="require this key (Bearer or x-api-key)")
    parser.add_argument("--model", default=defaults.model, help="served model name")
    parser.add_argument(
        "--max-recorded",
        type=int,
        default=defaults.max_recorded,
        help="how many request bodies GET /sim/requests keeps",
    )


def config_from_args(ns: argparse.Namespace) -> SimConfig:
    """Build a ``SimConfig`` from ``add_sim_arguments`` flags; raises ``ValueError`` if inconsistent."""
    mode: Literal["echo", "script"] = ns.mode or ("script" if ns.script_path else "echo")
    return SimConfig(
        host=ns.host,
        port=ns.port,
        mode=mode,
        script_path=ns.script_path,
        ttft_ms=ns.ttft_ms,
        tpot_ms=ns.tpot_ms,
        api_key=ns.api_key,
        model=ns.model,
        max_recorded=ns.max_recorded,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m engine.simulator``: parse flags, check the script, serve."""
    parser = argparse.ArgumentParser(
        prog="python -m engine.simulator",
        description="SGLang API simulator for tests and benchmarks (not an engine)",
    )
    add_sim_arguments(parser)
    ns = parser.parse_args(argv)
    try:
        config = config_from_args(ns)
        if config.script_path:
            load_script(config.script_path)
    except ValueError as exc:
        parser.error(str(exc))
    exit_with_parent(os.environ.get(PARENT_PID_ENV))
    run_simulator(config)
    return 0


# Set by ``gateway serve``/``demo`` when they start the simulator as their child: the simulator
# stops when that process is gone, even when it died without cleaning up (uvicorn re-raises
# SIGTERM after its shutdown, so the parent's ``finally`` never runs; SIGKILL never runs it).
PARENT_PID_ENV = "GATEWAY_SIM_PARENT_PID"


def exit_with_parent(parent_pid: str | None, interval_s: float = 0.5) -> None:
    """Send ourselves SIGTERM (a clean uvicorn shutdown) once ``parent_pid`` is no longer our parent."""
    if not parent_pid or not parent_pid.isdigit():
        return
    expected = int(parent_pid)

    def watch() -> None:
        while os.getppid() == expected:
            time.sleep(interval_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
