"""The SGLang command line built from a plan, and the same path starting the simulator."""

from __future__ import annotations

import sys

from engine.launcher.command import (
    REDACTED,
    SGLANG,
    build_argv,
    redact_argv,
    shell_command,
    simulator_program,
)
from engine.launcher.plan import LaunchRequest, plan_launch
from tests.unit.launcher.conftest import DEEPSEEK_V3, R1_DISTILL, checkpoint, gpus

KEY = "k" * 43


def test_fp8_on_h100_builds_the_full_sglang_command() -> None:
    plan = plan_launch(
        gpus("h100.csv"),
        checkpoint(R1_DISTILL),
        LaunchRequest(
            model_path="/models/r1", quantization="fp8", context_length=32768, served_model_name="r1"
        ),
    )
    assert build_argv(plan, api_key=KEY) == [
        sys.executable, "-m", "sglang.launch_server",
        "--model-path", "/models/r1",
        "--host", "127.0.0.1",
        "--port", "30000",
        f"--api-key={KEY}",
        "--enable-metrics",
        "--tp-size", "1",
        "--dp-size", "1",
        "--mem-fraction-static", "0.85",
        "--kv-cache-dtype", "auto",
        "--quantization", "fp8",
        "--context-length", "32768",
        "--served-model-name", "r1",
    ]  # fmt: skip


def test_fp8_checkpoint_on_two_nodes_has_no_quantization_and_the_multinode_flags() -> None:
    plan = plan_launch(
        gpus("h100.csv"),
        checkpoint(DEEPSEEK_V3),
        LaunchRequest(model_path="/models/v3", nnodes=2, node_rank=0, dist_init_addr="10.0.0.1:5000"),
    )
    argv = build_argv(plan, api_key=KEY, program=SGLANG)
    assert "--quantization" not in argv
    tail = argv[argv.index("--nnodes") :]
    assert tail == ["--nnodes", "2", "--node-rank", "0", "--dist-init-addr", "10.0.0.1:5000"]
    assert argv[argv.index("--tp-size") + 1] == "16"


def test_the_simulator_takes_only_the_flags_it_shares_with_sglang() -> None:
    plan = plan_launch(
        gpus("h100.csv"),
        checkpoint(R1_DISTILL),
        LaunchRequest(model_path="/models/r1", port=31234, served_model_name="r1", quantization="fp8"),
    )
    argv = build_argv(plan, api_key=KEY, program=simulator_program(python="/venv/python"))
    assert argv == [
        "/venv/python", "-m", "engine.simulator",
        "--host", "127.0.0.1", "--port", "31234", f"--api-key={KEY}", "--model", "r1",
    ]  # fmt: skip


def test_the_key_never_shows_in_printed_commands() -> None:
    plan = plan_launch(gpus("h200.csv"), checkpoint(R1_DISTILL), LaunchRequest(model_path="/models/r1"))
    argv = build_argv(plan, api_key=KEY)
    redacted = redact_argv(argv)
    assert KEY not in redacted and f"--api-key={REDACTED}" in redacted
    shell = shell_command(argv, "/var/lib/gateway/keys/engine-api-key")
    assert KEY not in shell
    assert '--api-key="$(cat /var/lib/gateway/keys/engine-api-key)"' in shell
    assert shell.startswith(f"{sys.executable} -m sglang.launch_server --model-path /models/r1 ")


def test_a_key_that_starts_with_a_dash_reaches_the_engine_as_the_key() -> None:
    """One generated key in 64 starts with "-": as a separate argument the engine's argparse took
    it for a flag, and the engine never started."""
    import argparse

    from engine.simulator.cli import add_sim_arguments

    plan = plan_launch(gpus("h100.csv"), checkpoint(R1_DISTILL), LaunchRequest(model_path="/models/r1"))
    argv = build_argv(plan, api_key="-5xq_key", program=simulator_program())
    parser = argparse.ArgumentParser()
    add_sim_arguments(parser)
    assert parser.parse_args(argv[3:]).api_key == "-5xq_key"
