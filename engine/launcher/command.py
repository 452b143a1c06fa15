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
        argv.append(program.renames.get(flag, flag))
        if value is not None:
            argv.append(value)
    return argv


def redact_argv(argv: Sequence[str], replacement: str = REDACTED) -> list[str]:
    """``argv`` with the value after ``--api-key`` replaced, for printing and logging."""
    out = list(argv)
    for i, arg in enumerate(out[:-1]):
        if arg == API_KEY_FLAG:
            out[i + 1] = replacement
    return out


def shell_command(argv: Sequence[str], key_file: str) -> str:
    """``argv`` as one shell line that reads the API key from ``key_file`` when it runs, so the
    printed command can be pasted without the key ever being shown."""
    parts = [shlex.quote(arg) for arg in redact_argv(argv)]
    for i, arg in enumerate(argv[:-1]):
        if arg == API_KEY_FLAG:
            parts[i + 1] = f'"$(cat {shlex.quote(key_file)})"'
    return " ".join(parts)
