"""Fixtures of the launcher tests: recorded GPU listings and checkpoint descriptions (no weights)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.launcher.checkpoint import Checkpoint, describe_checkpoint
from engine.launcher.inventory import GpuInventory, parse_nvidia_smi_csv

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GPUS = FIXTURES / "gpus"
CHECKPOINTS = FIXTURES / "checkpoints"

R1_DISTILL = "deepseek-r1-distill-qwen-32b"
DEEPSEEK_V3 = "deepseek-v3"
QWEN3_MOE_FP8 = "qwen3-30b-a3b-fp8"


def gpus(name: str) -> GpuInventory:
    """The inventory recorded in tests/fixtures/gpus/<name>."""
    return parse_nvidia_smi_csv((GPUS / name).read_text(encoding="utf-8"))


def checkpoint(name: str) -> Checkpoint:
    """The checkpoint described by tests/fixtures/checkpoints/<name>."""
    return describe_checkpoint(CHECKPOINTS / name)


@pytest.fixture
def a100_40() -> GpuInventory:
    return gpus("a100-40gb.csv")


@pytest.fixture
def a100_80() -> GpuInventory:
    return gpus("a100-80gb.csv")


@pytest.fixture
def h100() -> GpuInventory:
    return gpus("h100.csv")


@pytest.fixture
def h200() -> GpuInventory:
    return gpus("h200.csv")


@pytest.fixture
def l40s() -> GpuInventory:
    return gpus("l40s.csv")


@pytest.fixture
def no_gpu() -> GpuInventory:
    return gpus("none.txt")
