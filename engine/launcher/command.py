"""The engine's command line, built from a ``LaunchPlan``: ``python -m sglang.launch_server ...``.

``EngineProgram`` says which module runs and which of SGLang's flags it understands, so the same
code path can start the SGLang simulator instead (tests, demos): it takes the flags the simulator
shares with SGLang (host, port, API key, served model name) and drops the GPU ones.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from engine.launcher.plan import LaunchPlan

API_KEY_FLAG = "--api-key"
REDACTED = "<engine-api-key>"


@dataclass(frozen=True)
class EngineProgram:
    """The interpreter and module that serve the engine, and the flags they take.

    ``accepts`` None means every flag; otherwise flags outside it are left out. ``renames`` maps
    an SGLang flag to the program's own spelling. ``env`` is added to the child's environment.
    """

    module: str
    python: str = field(default=sys.executable)
    accepts: frozenset[str] | None = None
    renames: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)


SGLANG = EngineProgram(module="sglang.launch_server")


def simulator_program(python: str = sys.executable, env: Mapping[str, str] | None = None) -> EngineProgram:
    """The SGLang simulator (``python -m engine.simulator``) in SGLang's place: not a model."""
    return EngineProgram(
        module="engine.simulator",
        python=python,
        accepts=frozenset({"--host", "--port", API_KEY_FLAG, "--served-model-name"}),
        renames={"--served-model-name": "--model"},
        env=dict(env or {}),
    )


def server_flags(plan: LaunchPlan, api_key: str) -> list[tuple[str, str | None]]:
    """SGLang's flags for ``plan`` as (flag, value) pairs; value None is a switch."""
    flags: list[tuple[str, str | None]] = [
        ("--model-path", plan.model_path),
        ("--host", plan.host),
        ("--port", str(plan.port)),
        (API_KEY_FLAG, api_key),
        ("--enable-metrics", None),
        ("--tp-size", str(plan.tp)),
        ("--dp-size", str(plan.dp)),
        ("--mem-fraction-static", f"{plan.mem_fraction_static:g}"),
        ("--kv-cache-dtype", plan.kv_cache_dtype),
    ]
    if plan.quantization:
        flags.append(("--quantization", plan.quantization))
    if plan.context_length is not None:
        flags.append(("--context-length", str(plan.context_length)))
    if plan.served_model_name:
        flags.append(("--served-model-name", plan.served_model_name))
    if plan.trust_remote_code:
        flags.append(("--trust-remote-code", None))
    if plan.nnodes > 1:
        flags += [
            ("--nnodes", str(plan.nnodes)),
            ("--node-rank", str(plan.node_rank)),
            ("--dist-init-addr", plan.dist_init_addr or ""),
        ]
    return flags


def build_argv(plan: LaunchPlan, *, api_key: str, program: EngineProgram = SGLANG) -> list[str]:
    """The full argv that starts ``program`` for ``plan`` (no shell involved)."""
    argv = [program.python, "-m", program.module]
    for flag, value in server_flags(plan, api_key):
        if program.accepts is not None and flag not in program.accepts:
            continue
        name = program.renames.get(flag, flag)
        if flag == API_KEY_FLAG:
            argv.append(api_key_arg(api_key, name))
            continue
        argv.append(name)
        if value is not None:
            argv.append(value)
    return argv


def api_key_arg(api_key: str, flag: str = API_KEY_FLAG) -> str:
    """The API key as one argument, ``--api-key=KEY``: a key that starts with "-" (one generated
    key in 64 does) would otherwise be read by the engine's argparse as a flag of its own, and the
    engine would refuse to start."""
    return f"{flag}={api_key}"


def redact_argv(argv: Sequence[str], replacement: str = REDACTED) -> list[str]:
    """``argv`` with the API key replaced, for printing and logging."""
    return [api_key_arg(replacement) if _is_api_key_arg(arg) else arg for arg in argv]


def shell_command(argv: Sequence[str], key_file: str) -> str:
    """``argv`` as one shell line that reads the API key from ``key_file`` when it runs, so the
    printed command can be pasted without the key ever being shown."""
    reads_key = api_key_arg(f'"$(cat {shlex.quote(key_file)})"')
    return " ".join(reads_key if _is_api_key_arg(arg) else shlex.quote(arg) for arg in argv)


def _is_api_key_arg(arg: str) -> bool:
    return arg.startswith(API_KEY_FLAG + "=")
