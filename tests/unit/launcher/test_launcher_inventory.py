"""Reading the GPUs: nvidia-smi's CSV, torch's device list, and what happens without either."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

import pytest

from engine.launcher.inventory import (
    NVIDIA_SMI_QUERY,
    InventoryError,
    Runner,
    TorchDevice,
    detect_inventory,
    inventory_from_torch,
    parse_nvidia_smi_csv,
)
from tests.unit.launcher.conftest import gpus


@pytest.mark.parametrize(
    ("fixture", "count", "name", "mib", "capability", "architecture", "fp8"),
    [
        ("a100-40gb.csv", 8, "NVIDIA A100-SXM4-40GB", 40960, (8, 0), "ampere", False),
        ("a100-80gb.csv", 8, "NVIDIA A100-SXM4-80GB", 81920, (8, 0), "ampere", False),
        ("h100.csv", 8, "NVIDIA H100 80GB HBM3", 81559, (9, 0), "hopper", True),
        ("h200.csv", 8, "NVIDIA H200", 143771, (9, 0), "hopper", True),
        ("l40s.csv", 4, "NVIDIA L40S", 46068, (8, 9), "ada", True),
    ],
)
def test_recorded_listings_parse_into_gpus(
    fixture: str,
    count: int,
    name: str,
    mib: int,
    capability: tuple[int, int],
    architecture: str,
    fp8: bool,
) -> None:
    inventory = gpus(fixture)
    assert inventory.count == count
    assert [gpu.index for gpu in inventory.gpus] == list(range(count))
    gpu = inventory.gpus[0]
    assert (gpu.name, gpu.memory_mib, gpu.compute_capability) == (name, mib, capability)
    assert gpu.architecture == architecture
    assert gpu.fp8_tensor_cores is fp8
    assert not inventory.mixed


def test_no_devices_is_an_empty_inventory() -> None:
    inventory = gpus("none.txt")
    assert inventory.count == 0
    assert inventory.weakest is None


@pytest.mark.parametrize(
    "line",
    [
        "0, NVIDIA A100-SXM4-80GB, [N/A], 8.0",
        "0, NVIDIA A100-SXM4-80GB, 81920",
        "x, NVIDIA A100-SXM4-80GB, 81920, 8.0",
        "0, NVIDIA A100-SXM4-80GB, 81920, 8",
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
    ],
)
def test_anything_else_is_refused_not_guessed(line: str) -> None:
    with pytest.raises(InventoryError, match="line 1"):
        parse_nvidia_smi_csv(line)


def test_mixed_gpus_are_bounded_by_the_weakest() -> None:
    inventory = parse_nvidia_smi_csv(
        "0, NVIDIA H100 80GB HBM3, 81559, 9.0\n1, NVIDIA A100-SXM4-40GB, 40960, 8.0\n"
    )
    assert inventory.mixed
    weakest = inventory.weakest
    assert weakest is not None and weakest.name == "NVIDIA A100-SXM4-40GB"
    assert inventory.min_memory_bytes == 40960 * 1024 * 1024


def test_torch_device_list_becomes_the_same_inventory() -> None:
    devices = [TorchDevice("NVIDIA H100 80GB HBM3", 81559 * 1024 * 1024 + 512, 9, 0)] * 2
    inventory = inventory_from_torch(devices)
    assert inventory.source == "torch"
    assert [(g.index, g.memory_mib, g.compute_capability) for g in inventory.gpus] == [
        (0, 81559, (9, 0)),
        (1, 81559, (9, 0)),
    ]


def _runner(stdout: str, returncode: int = 0) -> tuple[list[Sequence[str]], Runner]:
    calls: list[Sequence[str]] = []

    def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        return subprocess.CompletedProcess(list(argv), returncode, stdout=stdout, stderr="")

    return calls, run


def test_detection_runs_the_documented_nvidia_smi_query() -> None:
    calls, run = _runner("0, NVIDIA L40S, 46068, 8.9\n")
    inventory = detect_inventory(run=run, which=lambda _: "/usr/bin/nvidia-smi", torch_devices=lambda: None)
    assert calls == [NVIDIA_SMI_QUERY]
    assert inventory.count == 1 and inventory.source == "nvidia-smi"


def test_detection_failure_of_nvidia_smi_is_an_error_not_an_empty_machine() -> None:
    _, run = _runner("", returncode=9)
    with pytest.raises(InventoryError, match="exit status 9"):
        detect_inventory(run=run, which=lambda _: "/usr/bin/nvidia-smi", torch_devices=lambda: None)


def test_detection_falls_back_to_torch_then_to_nothing() -> None:
    device = TorchDevice("NVIDIA A100-SXM4-80GB", 81920 * 1024 * 1024, 8, 0)
    assert detect_inventory(which=lambda _: None, torch_devices=lambda: [device]).source == "torch"
    empty = detect_inventory(which=lambda _: None, torch_devices=lambda: None)
    assert empty.count == 0 and empty.source.startswith("none")
