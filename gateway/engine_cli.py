"""``gateway engine launch`` and ``gateway engine command``: start SGLang for this machine's GPUs,
or print the command that would.

Both read the GPUs (``nvidia-smi``, or torch; ``--gpus-file`` reads a saved ``nvidia-smi`` listing
instead), describe the checkpoint, print one line per decision and use the engine API key kept in
``<data-dir>/keys/engine-api-key`` (created 0600 on first use): the engine accepts only that key,
and the gateway's ``engine.api_key`` must be set to it (docs/engine.md). Exit 0 done, 2 refused.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.settings import Settings

KEY_FILE = "engine-api-key"
#: ``secrets.token_urlsafe(32)`` is always 43 characters.
KEY_LENGTH = 43


def load_or_create_engine_key(key_dir: Path) -> tuple[str, Path]:
    """The engine API key kept in ``key_dir``, created on first use; returns it and its file."""
    from audit.files import create_private_file, ensure_private_dir, read_secret_file

    path = key_dir / KEY_FILE
    if not path.exists():
        ensure_private_dir(key_dir)
        create_private_file(path, secrets.token_urlsafe(32).encode("ascii"))
    return read_secret_file(path, KEY_LENGTH).decode("ascii"), path


def _add_launch_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.launcher.plan import DEFAULT_MEM_FRACTION, DEFAULT_PORT, KV_CACHE_DTYPES

    parser.add_argument("--model", required=True, help="checkpoint directory (with config.json)")
    parser.add_argument("--quantization", choices=("fp8",), help="quantize BF16 weights to FP8 at load")
    parser.add_argument("--tp", type=int, help="tensor-parallel size (default: fewest GPUs that fit)")
    parser.add_argument("--dp", type=int, default=1, help="data-parallel replicas (default 1)")
    parser.add_argument("--kv-cache-dtype", choices=KV_CACHE_DTYPES, default="auto")
    parser.add_argument("--mem-fraction-static", type=float, default=DEFAULT_MEM_FRACTION)
    parser.add_argument("--context-length", type=int)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="engine port on 127.0.0.1")
    parser.add_argument("--served-model-name", help="model name the engine serves")
    parser.add_argument("--trust-remote-code", action="store_true")
    parser.add_argument("--weights-gib", type=float, help="weights' size when the checkpoint does not say")
    parser.add_argument("--nnodes", type=int, default=1, help="nodes of a multi-node engine")
    parser.add_argument("--node-rank", type=int, default=0, help="this node's rank (0 serves HTTP)")
    parser.add_argument("--dist-init-addr", help="HOST:PORT of node 0 for a multi-node engine")
    parser.add_argument("--gpus-file", help="read a saved nvidia-smi --query-gpu CSV instead of the GPUs")


def _plan(args: argparse.Namespace) -> Any:
    """The launch plan for the flags; raises LaunchRefused, InventoryError or CheckpointError."""
    from engine.launcher.checkpoint import describe_checkpoint
    from engine.launcher.inventory import detect_inventory, parse_nvidia_smi_csv
    from engine.launcher.plan import LaunchRequest, plan_launch

    if args.gpus_file:
        inventory = parse_nvidia_smi_csv(Path(args.gpus_file).read_text(encoding="utf-8"))
    else:
        inventory = detect_inventory()
    request = LaunchRequest(
        model_path=args.model,
        quantization=args.quantization,
        tp=args.tp,
        dp=args.dp,
        kv_cache_dtype=args.kv_cache_dtype,
        mem_fraction_static=args.mem_fraction_static,
        context_length=args.context_length,
        port=args.port,
        served_model_name=args.served_model_name,
        nnodes=args.nnodes,
        node_rank=args.node_rank,
        dist_init_addr=args.dist_init_addr,
        trust_remote_code=args.trust_remote_code,
        weights_gib=args.weights_gib,
    )
    return plan_launch(inventory, describe_checkpoint(Path(args.model)), request)


def _planned(args: argparse.Namespace) -> Any | None:
    from engine.launcher.checkpoint import CheckpointError
    from engine.launcher.inventory import InventoryError
    from engine.launcher.plan import LaunchRefused

    try:
        return _plan(args)
    except (LaunchRefused, InventoryError, CheckpointError, OSError) as exc:
        message = str(exc) if not isinstance(exc, OSError) else f"cannot read {exc.filename}: {exc.strerror}"
        print(f"error: {message}", file=sys.stderr)
        return None


def _cmd_command(args: argparse.Namespace, settings: Settings) -> int:
    from engine.launcher.command import build_argv, redact_argv, shell_command

    plan = _planned(args)
    if plan is None:
        return 2
    key, key_file = load_or_create_engine_key(settings.key_dir)
    argv = build_argv(plan, api_key=key)
    shell = shell_command(argv, str(key_file))
    if args.json:
        data = {
            "argv": redact_argv(argv),
            "shell": shell,
            "key_file": str(key_file),
            "precision": plan.precision,
            "explanations": list(plan.explanations),
        }
        print(json.dumps(data))
    else:
        print("\n".join(f"# {line}" for line in plan.explanations))
        print(shell)
    return 0


def _cmd_launch(args: argparse.Namespace, settings: Settings) -> int:
    from engine.launcher.command import SGLANG, build_argv, simulator_program
    from engine.launcher.supervisor import Backoff, Supervisor

    plan = _planned(args)
    if plan is None:
        return 2
    key, key_file = load_or_create_engine_key(settings.key_dir)
    if args.simulator:
        from engine.simulator import PARENT_PID_ENV

        program = simulator_program(env={PARENT_PID_ENV: str(os.getpid())})
        print("*** --simulator: starting the SGLang SIMULATOR, not a model ***", file=sys.stderr)
    else:
        program = SGLANG
    for line in plan.explanations:
        print(line, file=sys.stderr)
    url = f"http://{plan.host}:{plan.port}"
    supervisor = Supervisor(
        build_argv(plan, api_key=key, program=program),
        health_url=f"{url}/health_generate" if plan.serves_http else None,
        api_key=key,
        env=program.env,
        backoff=Backoff(initial_s=args.backoff_s, max_s=max(args.backoff_s, 60.0)),
        grace_s=args.grace_s,
    )

    def on_signal(_signum: int, _frame: object) -> None:
        supervisor.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    supervisor.start()
    if supervisor.wait_healthy(args.health_timeout_s):
        ready = {"url": url, "key_file": str(key_file), "pid": supervisor.pid}
        text = (
            f"engine ready on {url} (API key in {key_file}); point the gateway at it with "
            f'engine.urls = ["{url}"] and engine.api_key set to that file\'s content'
        )
        print(json.dumps(ready) if args.json else text, flush=True)
    elif not supervisor.stopping:
        print("warning: the engine is not healthy yet; supervising it anyway", file=sys.stderr)
    supervisor.supervise(args.health_timeout_s)
    return 0


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``launch`` and ``command`` to the ``gateway engine`` subcommands ``sub``."""
    command = sub.add_parser("command", help="print the SGLang command for this machine's GPUs")
    common(command)
    _add_launch_arguments(command)
    command.set_defaults(handler=_cmd_command)

    launch = sub.add_parser("launch", help="start SGLang for this machine's GPUs and keep it running")
    common(launch)
    _add_launch_arguments(launch)
    launch.add_argument("--health-timeout-s", type=float, default=1800.0, help="wait for /health_generate")
    launch.add_argument("--grace-s", type=float, default=30.0, help="SIGTERM to SIGKILL on stop")
    launch.add_argument("--backoff-s", type=float, default=1.0, help="first restart delay (doubles)")
    launch.add_argument(
        "--simulator", action="store_true", help="start the SGLang simulator instead (tests, demos)"
    )
    launch.set_defaults(handler=_cmd_launch)
