"""The GPUs of this machine, as plain data: read from ``nvidia-smi`` or from torch, parsed by pure
functions so every decision built on them can be tested without a GPU.

``nvidia-smi --query-gpu=index,name,memory.total,compute_cap --format=csv,noheader,nounits``
prints one line per GPU (``0, NVIDIA A100-SXM4-80GB, 81920, 8.0``: memory in MiB, compute
capability as major.minor); on a machine without a GPU it prints ``No devices were found``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

#: The query the launcher runs; fixtures under tests/fixtures/gpus/ are in its output format.
NVIDIA_SMI_QUERY = (
    "nvidia-smi",
    "--query-gpu=index,name,memory.total,compute_cap",
    "--format=csv,noheader,nounits",
)
NO_DEVICES = "No devices were found"

Architecture = Literal["blackwell", "hopper", "ada", "ampere", "older"]


class InventoryError(ValueError):
    """The GPU listing could not be read; the message names the line number, never more."""


@dataclass(frozen=True)
class Gpu:
    """One GPU: its index, product name, memory in MiB and CUDA compute capability."""

    index: int
    name: str
    memory_mib: int
    compute_capability: tuple[int, int]

    @property
    def memory_bytes(self) -> int:
        return self.memory_mib * 1024 * 1024

    @property
    def architecture(self) -> Architecture:
        """The generation, from the compute capability (8.9 is Ada, 8.0-8.7 Ampere, 9.x Hopper)."""
        major, minor = self.compute_capability
        if major >= 10:
            return "blackwell"
        if major == 9:
            return "hopper"
        if (major, minor) >= (8, 9):
            return "ada"
        if major == 8:
            return "ampere"
        return "older"

    @property
    def fp8_tensor_cores(self) -> bool:
        """Whether the GPU computes in FP8 (compute capability 8.9 and later)."""
        return self.compute_capability >= (8, 9)


@dataclass(frozen=True)
class GpuInventory:
    """The GPUs one node has (possibly none) and where the listing came from."""

    gpus: tuple[Gpu, ...]
    source: str

    @property
    def count(self) -> int:
        return len(self.gpus)

    @property
    def weakest(self) -> Gpu | None:
        """The GPU that bounds every decision: lowest compute capability, then least memory."""
        if not self.gpus:
            return None
        return min(self.gpus, key=lambda gpu: (gpu.compute_capability, gpu.memory_mib))

    @property
    def min_memory_bytes(self) -> int:
        return min((gpu.memory_bytes for gpu in self.gpus), default=0)

    @property
    def mixed(self) -> bool:
        """Whether the node holds GPUs of more than one product."""
        return len({gpu.name for gpu in self.gpus}) > 1


def _parse_capability(text: str, line_no: int) -> tuple[int, int]:
    major, dot, minor = text.partition(".")
    if not (dot and major.isdigit() and minor.isdigit()):
        raise InventoryError(f"nvidia-smi line {line_no}: compute capability is not major.minor")
    return int(major), int(minor)


def parse_nvidia_smi_csv(text: str) -> GpuInventory:
    """Parse the output of :data:`NVIDIA_SMI_QUERY`; ``No devices were found`` is an empty
    inventory. Any other line that is not ``index, name, MiB, major.minor`` raises InventoryError
    (a MIG or driver problem shows as ``[N/A]`` or an error text: the launcher does not guess)."""
    gpus: list[Gpu] = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line == NO_DEVICES:
            return GpuInventory(gpus=(), source="nvidia-smi")
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 4:
            raise InventoryError(f"nvidia-smi line {line_no}: expected 4 fields, got {len(fields)}")
        index, name, memory, capability = fields
        if not index.isdigit():
            raise InventoryError(f"nvidia-smi line {line_no}: index is not a number")
        if not memory.isdigit():
            raise InventoryError(f"nvidia-smi line {line_no}: memory.total is not a number of MiB")
        gpus.append(
            Gpu(
                index=int(index),
                name=name,
                memory_mib=int(memory),
                compute_capability=_parse_capability(capability, line_no),
            )
        )
    return GpuInventory(gpus=tuple(gpus), source="nvidia-smi")


@dataclass(frozen=True)
class TorchDevice:
    """What ``torch.cuda.get_device_properties(i)`` says of one device."""

    name: str
    total_memory: int
    major: int
    minor: int


def inventory_from_torch(devices: Sequence[TorchDevice]) -> GpuInventory:
    """An inventory from torch's device list (memory in bytes, rounded down to MiB)."""
    return GpuInventory(
        gpus=tuple(
            Gpu(
                index=i,
                name=device.name,
                memory_mib=device.total_memory // (1024 * 1024),
                compute_capability=(device.major, device.minor),
            )
            for i, device in enumerate(devices)
        ),
        source="torch",
    )


def _torch_devices() -> list[TorchDevice] | None:
    try:
        import torch  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return []
    devices = []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        devices.append(TorchDevice(str(props.name), int(props.total_memory), props.major, props.minor))
    return devices


Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        list(argv), capture_output=True, text=True, timeout=30, check=False
    )


def detect_inventory(
    run: Runner = _run,
    which: Callable[[str], str | None] = shutil.which,
    torch_devices: Callable[[], list[TorchDevice] | None] = _torch_devices,
) -> GpuInventory:
    """This node's GPUs: ``nvidia-smi`` when it is installed, else torch when it is importable,
    else an empty inventory (``source`` says which). ``nvidia-smi`` answering ``No devices were
    found`` is an empty inventory; any other failure of it raises InventoryError."""
    if which("nvidia-smi"):
        result = run(NVIDIA_SMI_QUERY)
        if NO_DEVICES in result.stdout or NO_DEVICES in result.stderr:
            return GpuInventory(gpus=(), source="nvidia-smi")
        if result.returncode != 0:
            raise InventoryError(f"nvidia-smi failed with exit status {result.returncode}")
        return parse_nvidia_smi_csv(result.stdout)
    devices = torch_devices()
    if devices is not None:
        return inventory_from_torch(devices)
    return GpuInventory(gpus=(), source="none (no nvidia-smi, no torch)")
