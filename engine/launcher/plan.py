"""The launch decision: ``plan_launch(inventory, checkpoint, request)`` is a pure function from the
GPUs, the checkpoint and what the operator asked for to the SGLang settings, with one line of
explanation per choice, or a refusal (``LaunchRefused``) that says why and what would work.

FP8 by GPU generation (SGLang's ``fp8`` method; ``w8a8_fp8`` needs compute capability 8.9):

- Hopper and Ada (H100, H200, L40S; compute capability >= 8.9): FP8 W8A8, weights and
  activations in FP8 on the FP8 tensor cores.
- Ampere (A100, 8.0): no FP8 tensor cores. SGLang's ``fp8`` linear method falls back to Marlin
  kernels on sm80-sm88: FP8 weight-only (W8A16), the weights take half the memory and the
  matrix products run in BF16. Its FP8 mixture-of-experts kernels have no such path, so an FP8
  MoE model (checkpoint or online) is refused there.
- A checkpoint already stored in FP8 (DeepSeek-V3, R1) is launched without ``--quantization``:
  SGLang reads ``quantization_config`` from its config.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from engine.launcher.checkpoint import Checkpoint
from engine.launcher.inventory import Gpu, GpuInventory

GIB = 1024**3
DEFAULT_PORT = 30000
DEFAULT_MEM_FRACTION = 0.85
#: Share of SGLang's static memory pool kept for the KV cache when checking that weights fit.
KV_CACHE_RESERVE = 0.10
KV_CACHE_DTYPES = ("auto", "fp8_e4m3", "fp8_e5m2", "bf16")
#: The engine listens on loopback only: the gateway on the same host is its only client.
ENGINE_HOST = "127.0.0.1"

AMPERE_MOE_ALTERNATIVES = (
    "use the model's BF16 checkpoint, a W4A16 (AWQ or GPTQ) or INT8 (w8a8_int8) checkpoint of it, "
    "or Hopper/Ada GPUs (H100, H200, L40S)"
)


class LaunchRefused(Exception):
    """The engine cannot be launched as asked; the message says why and what would work."""


@dataclass(frozen=True)
class LaunchRequest:
    """What the operator asked for (``gateway engine launch`` flags); None means "decide"."""

    model_path: str
    quantization: Literal["fp8"] | None = None
    tp: int | None = None
    dp: int = 1
    kv_cache_dtype: str = "auto"
    mem_fraction_static: float = DEFAULT_MEM_FRACTION
    context_length: int | None = None
    port: int = DEFAULT_PORT
    served_model_name: str | None = None
    nnodes: int = 1
    node_rank: int = 0
    dist_init_addr: str | None = None
    trust_remote_code: bool = False
    #: The weights' size in GiB when neither a safetensors index nor the config tells it.
    weights_gib: float | None = None


@dataclass(frozen=True)
class LaunchPlan:
    """The SGLang settings decided, and one line per decision saying why."""

    model_path: str
    host: str
    port: int
    tp: int
    dp: int
    #: The ``--quantization`` value, or None to let SGLang read the checkpoint's own.
    quantization: str | None
    #: Human label of the numeric format: ``FP8 W8A8``, ``FP8 W8A16 (Marlin)``, ``BF16``...
    precision: str
    kv_cache_dtype: str
    mem_fraction_static: float
    context_length: int | None
    served_model_name: str | None
    nnodes: int
    node_rank: int
    dist_init_addr: str | None
    trust_remote_code: bool
    weight_bytes_per_gpu: int
    explanations: tuple[str, ...]

    @property
    def serves_http(self) -> bool:
        """Only node 0 of a multi-node engine runs the HTTP server (and so /health_generate)."""
        return self.node_rank == 0


def _gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def _validate(request: LaunchRequest) -> None:
    if request.dp < 1 or (request.tp is not None and request.tp < 1):
        raise LaunchRefused("--tp and --dp must be at least 1")
    if not 0.0 < request.mem_fraction_static < 1.0:
        raise LaunchRefused("--mem-fraction-static must be between 0 and 1")
    if request.kv_cache_dtype not in KV_CACHE_DTYPES:
        raise LaunchRefused(f"--kv-cache-dtype must be one of {', '.join(KV_CACHE_DTYPES)}")
    if not 1 <= request.port <= 65535:
        raise LaunchRefused("--port must be between 1 and 65535")
    if request.context_length is not None and request.context_length < 1:
        raise LaunchRefused("--context-length must be positive")
    if request.nnodes < 1 or not 0 <= request.node_rank < request.nnodes:
        raise LaunchRefused("--node-rank must be between 0 and --nnodes - 1")
    if request.nnodes > 1:
        host, sep, port = (request.dist_init_addr or "").rpartition(":")
        if not (sep and host and port.isdigit()):
            raise LaunchRefused("a multi-node engine needs --dist-init-addr HOST:PORT (node 0's address)")


def _gpu_line(inventory: GpuInventory, gpu: Gpu) -> str:
    major, minor = gpu.compute_capability
    line = (
        f"GPUs: {inventory.count} x {gpu.name} ({_gib(gpu.memory_bytes)}, compute capability "
        f"{major}.{minor}, {gpu.architecture.capitalize()}) from {inventory.source}"
    )
    if inventory.mixed:
        line += "; the GPUs differ, so every decision follows the weakest"
    return line


def _precision(
    checkpoint: Checkpoint, request: LaunchRequest, gpu: Gpu
) -> tuple[str | None, str, float, str]:
    """The ``--quantization`` value, the precision label, the weight-size factor and the line."""
    fp8_cores = gpu.fp8_tensor_cores
    if checkpoint.quant_method not in (None, "fp8"):
        if request.quantization:
            raise LaunchRefused(
                f"the checkpoint is already quantized ({checkpoint.quant_method}); "
                "launch it without --quantization"
            )
        return (
            None,
            checkpoint.quant_method or "",
            1.0,
            (
                f"precision: the checkpoint's own {checkpoint.quant_method} (no --quantization; "
                "SGLang reads it from config.json)"
            ),
        )
    wants_fp8 = checkpoint.fp8_serialized or request.quantization == "fp8"
    if not wants_fp8:
        return None, "BF16", 1.0, "precision: BF16 as stored (no --quantization asked)"
    if not fp8_cores and checkpoint.is_moe:
        raise LaunchRefused(
            f"refused: this is an FP8 mixture-of-experts model ({checkpoint.experts} experts), whose "
            f"expert layers need FP8 compute, and {gpu.name} (compute capability "
            f"{gpu.compute_capability[0]}.{gpu.compute_capability[1]}) has no FP8 tensor cores "
            f"(SGLang's FP8 MoE kernels have no weight-only fallback); {AMPERE_MOE_ALTERNATIVES}"
        )
    if checkpoint.fp8_serialized:
        how = (
            "FP8 W8A8 on the FP8 tensor cores"
            if fp8_cores
            else "FP8 weight-only (W8A16 through Marlin kernels: weights stay FP8 in memory, compute is BF16)"
        )
        label = "FP8 W8A8" if fp8_cores else "FP8 W8A16 (Marlin)"
        line = (
            f"precision: {how}; the checkpoint is already FP8 (quantization_config.quant_method=fp8), "
            "so no --quantization: SGLang reads it from config.json"
        )
        if request.quantization:
            line += " (the --quantization fp8 asked for is implied)"
        return None, label, 1.0, line
    if fp8_cores:
        return (
            "fp8",
            "FP8 W8A8",
            0.5,
            (
                "precision: --quantization fp8, FP8 W8A8 on the FP8 tensor cores (BF16 weights quantized "
                "at load: weights and activations in FP8, weight memory about halves)"
            ),
        )
    return (
        "fp8",
        "FP8 W8A16 (Marlin)",
        0.5,
        (
            f"precision: --quantization fp8, FP8 weight-only (W8A16 through Marlin kernels): weight "
            f"memory halves, compute stays BF16 ({gpu.name} has no FP8 tensor cores; SGLang falls back "
            "to Marlin below compute capability 8.9)"
        ),
    )


def _fits(per_gpu: float, gpu_bytes: int, fraction: float) -> bool:
    return per_gpu <= gpu_bytes * fraction * (1.0 - KV_CACHE_RESERVE)


def _tp_candidates(request: LaunchRequest, inventory: GpuInventory, heads: int | None) -> list[int]:
    total = inventory.count * request.nnodes
    sizes = [2**i for i in range(12) if 2**i * request.dp <= total]
    if request.nnodes > 1:
        sizes = [tp for tp in sizes if (tp * request.dp) % request.nnodes == 0]
    return [tp for tp in sizes if heads is None or heads % tp == 0]


def _parallelism(
    request: LaunchRequest, inventory: GpuInventory, heads: int | None, weights: float, can_halve: bool
) -> tuple[int, str]:
    total = inventory.count * request.nnodes
    where = f"{total} GPUs" + (
        f" ({inventory.count} per node x {request.nnodes} nodes)" if request.nnodes > 1 else ""
    )
    budget = inventory.min_memory_bytes
    if request.tp is not None:
        tp = request.tp
        if tp * request.dp > total:
            raise LaunchRefused(
                f"--tp {tp} x --dp {request.dp} needs {tp * request.dp} GPUs; there are {where}"
            )
        if request.nnodes > 1 and (tp * request.dp) % request.nnodes:
            raise LaunchRefused(
                f"--tp {tp} x --dp {request.dp} does not split evenly over {request.nnodes} nodes"
            )
        if heads is not None and heads % tp:
            raise LaunchRefused(f"--tp {tp} does not divide the model's {heads} attention heads")
        return (
            tp,
            f"tensor parallel {tp} as asked, x {request.dp} data-parallel: {tp * request.dp} of {where}",
        )
    for tp in _tp_candidates(request, inventory, heads):
        if _fits(weights / tp, budget, request.mem_fraction_static):
            return tp, (
                f"tensor parallel {tp}: the fewest GPUs whose memory holds the weights, "
                f"x {request.dp} data-parallel: {tp * request.dp} of {where}"
            )
    raise LaunchRefused(_too_big(weights, inventory, request, can_halve))


def _too_big(weights: float, inventory: GpuInventory, request: LaunchRequest, can_halve: bool) -> str:
    usable = inventory.min_memory_bytes * request.mem_fraction_static * (1.0 - KV_CACHE_RESERVE)
    gpus = inventory.count * request.nnodes // request.dp
    message = (
        f"refused: the weights ({_gib(weights)}) do not fit: {gpus} GPU(s) per replica hold at most "
        f"{_gib(usable * gpus)} of weights at --mem-fraction-static {request.mem_fraction_static} "
        f"(a tenth of the pool kept for the KV cache)"
    )
    if can_halve and weights / 2 <= usable * gpus:
        message += "; --quantization fp8 would halve the weights and fit"
    return message + "; or add GPUs or nodes (--nnodes), or lower --dp"


def plan_launch(inventory: GpuInventory, checkpoint: Checkpoint, request: LaunchRequest) -> LaunchPlan:
    """Decide how to launch SGLang for ``checkpoint`` on ``inventory`` (this node's GPUs; every
    node of a multi-node engine is assumed alike). Raises LaunchRefused with the reason and an
    alternative when the hardware cannot run it as asked. Pure: no I/O, no clock."""
    _validate(request)
    gpu = inventory.weakest
    if gpu is None:
        raise LaunchRefused(
            f"refused: no NVIDIA GPU found ({inventory.source}); SGLang needs one. "
            "For tests and demos without a GPU use the simulator: gateway engine sim"
        )
    if gpu.architecture == "older":
        raise LaunchRefused(
            f"refused: {gpu.name} (compute capability {gpu.compute_capability[0]}."
            f"{gpu.compute_capability[1]}) predates Ampere; BF16 and FP8 kernels need 8.0 or later"
        )
    lines = [_gpu_line(inventory, gpu)]
    flag, label, factor, precision_line = _precision(checkpoint, request, gpu)
    lines.append(precision_line)

    if checkpoint.weight_bytes is not None:
        stored = float(checkpoint.weight_bytes)
        size_from = checkpoint.weight_source
    elif request.weights_gib is not None:
        stored = request.weights_gib * GIB
        size_from = "--weights-gib"
    else:
        raise LaunchRefused(
            "refused: the weights' size is unknown (no model.safetensors.index.json and config.json "
            "lacks the shape keys); give it with --weights-gib"
        )
    weights = stored * factor
    # Only BF16 weights that are not being quantized could still be halved by --quantization fp8.
    can_halve = factor == 1.0 and checkpoint.quant_method is None
    tp, tp_line = _parallelism(request, inventory, checkpoint.num_attention_heads, weights, can_halve)
    lines.append(tp_line)
    per_gpu = weights / tp
    if not _fits(per_gpu, inventory.min_memory_bytes, request.mem_fraction_static):
        raise LaunchRefused(_too_big(weights, inventory, request, can_halve))
    pool = inventory.min_memory_bytes * request.mem_fraction_static
    lines.append(
        f"memory: weights {_gib(weights)} ({size_from}{', halved by FP8' if factor < 1 else ''}) / tp {tp}"
        f" = {_gib(per_gpu)} per GPU; the static pool ({request.mem_fraction_static} x "
        f"{_gib(inventory.min_memory_bytes)} = {_gib(pool)}) leaves {_gib(pool - per_gpu)} for the KV cache"
    )
    if request.kv_cache_dtype == "auto":
        lines.append("KV cache: auto (the model's own dtype)")
    else:
        lines.append(f"KV cache: {request.kv_cache_dtype} as asked (--kv-cache-dtype)")
    if request.context_length is not None:
        limit = checkpoint.max_position_embeddings
        if limit is not None and request.context_length > limit:
            raise LaunchRefused(
                f"--context-length {request.context_length} is longer than the model's {limit} positions"
            )
        lines.append(f"context length: {request.context_length} as asked")
    if request.nnodes > 1:
        lines.append(
            f"multi-node: node {request.node_rank} of {request.nnodes}, rendezvous at "
            f"{request.dist_init_addr}; start the same command on every node with its own --node-rank;"
            " only node 0 serves HTTP"
        )
    lines.append(
        f"serving: {ENGINE_HOST}:{request.port} only (loopback), with an API key only the gateway "
        "knows, and --enable-metrics for /metrics"
    )
    return LaunchPlan(
        model_path=request.model_path,
        host=ENGINE_HOST,
        port=request.port,
        tp=tp,
        dp=request.dp,
        quantization=flag,
        precision=label,
        kv_cache_dtype=request.kv_cache_dtype,
        mem_fraction_static=request.mem_fraction_static,
        context_length=request.context_length,
        served_model_name=request.served_model_name,
        nnodes=request.nnodes,
        node_rank=request.node_rank,
        dist_init_addr=request.dist_init_addr,
        trust_remote_code=request.trust_remote_code,
        weight_bytes_per_gpu=int(per_gpu),
        explanations=tuple(lines),
    )
