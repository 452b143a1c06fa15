"""What the launcher knows of a checkpoint: read from its ``config.json`` and, when present, the
``model.safetensors.index.json`` that lists its weights (``metadata.total_size`` is the bytes of
all tensors). Nothing here loads weights; a directory with only a config.json is described too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.json"
INDEX_FILE = "model.safetensors.index.json"

#: Config keys that give a mixture-of-experts model's expert count (DeepSeek, Mixtral, Qwen-MoE).
EXPERT_KEYS = ("n_routed_experts", "num_local_experts", "num_experts")

_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float8_e4m3fn": 1}


class CheckpointError(ValueError):
    """The checkpoint directory cannot be described (missing or malformed config.json)."""


@dataclass(frozen=True)
class Checkpoint:
    """The facts the launch decision needs about one checkpoint."""

    path: str
    model_type: str
    #: Weights already stored in FP8 (``quantization_config.quant_method`` is ``fp8``).
    fp8_serialized: bool
    #: The checkpoint's own quantization method, if any (``fp8``, ``awq``, ``gptq``...).
    quant_method: str | None
    experts: int
    #: Bytes of all weights as stored; None when neither the index nor the config tells.
    weight_bytes: int | None
    #: Where ``weight_bytes`` came from: ``safetensors index`` or ``estimated from config.json``.
    weight_source: str
    num_attention_heads: int | None
    max_position_embeddings: int | None

    @property
    def is_moe(self) -> bool:
        return self.experts > 1


def _int(config: Mapping[str, Any], key: str) -> int | None:
    value = config.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def estimate_parameters(config: Mapping[str, Any]) -> int | None:
    """A parameter count from the shape keys of a decoder-only config (embeddings, attention,
    MLP or experts per layer); None when a needed key is missing. Good to a few percent for the
    Llama/Qwen/DeepSeek families, which is what a memory check needs."""
    hidden = _int(config, "hidden_size")
    layers = _int(config, "num_hidden_layers")
    vocab = _int(config, "vocab_size")
    intermediate = _int(config, "intermediate_size")
    heads = _int(config, "num_attention_heads")
    if not (hidden and layers and vocab and intermediate and heads):
        return None
    kv_heads = _int(config, "num_key_value_heads") or heads
    head_dim = _int(config, "head_dim") or hidden // heads
    attention = hidden * head_dim * (2 * heads + 2 * kv_heads)
    dense_mlp = 3 * hidden * intermediate
    experts = max((_int(config, key) or 0 for key in EXPERT_KEYS), default=0)
    if experts > 1:
        expert_size = _int(config, "moe_intermediate_size") or intermediate
        shared = _int(config, "n_shared_experts") or 0
        dense_layers = min(_int(config, "first_k_dense_replace") or 0, layers)
        moe_mlp = 3 * hidden * expert_size * (experts + shared) + hidden * experts
        mlp_total = dense_layers * dense_mlp + (layers - dense_layers) * moe_mlp
    else:
        mlp_total = layers * dense_mlp
    embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings") else 2)
    return embeddings + layers * attention + mlp_total


def describe_config(
    config: Mapping[str, Any], *, path: str = "", index_total_size: int | None = None
) -> Checkpoint:
    """Describe a checkpoint from its parsed config.json (and the index's total size, if known)."""
    quant = config.get("quantization_config")
    quant_method = None
    if isinstance(quant, Mapping) and isinstance(quant.get("quant_method"), str):
        quant_method = str(quant["quant_method"]).lower()
    fp8 = quant_method == "fp8"
    experts = max((_int(config, key) or 0 for key in EXPERT_KEYS), default=0)
    if index_total_size is not None:
        weight_bytes: int | None = index_total_size
        source = "safetensors index"
    else:
        params = estimate_parameters(config)
        dtype = str(config.get("torch_dtype") or config.get("dtype") or "bfloat16")
        per_param = 1 if fp8 else _DTYPE_BYTES.get(dtype, 2)
        weight_bytes = None if params is None or quant_method not in (None, "fp8") else params * per_param
        source = "estimated from config.json" if weight_bytes is not None else "unknown"
    return Checkpoint(
        path=path,
        model_type=str(config.get("model_type") or "unknown"),
        fp8_serialized=fp8,
        quant_method=quant_method,
        experts=experts,
        weight_bytes=weight_bytes,
        weight_source=source,
        num_attention_heads=_int(config, "num_attention_heads"),
        max_position_embeddings=_int(config, "max_position_embeddings"),
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path.name} cannot be read: {type(exc).__name__}") from None


def describe_checkpoint(path: Path) -> Checkpoint:
    """Describe the checkpoint directory ``path`` from its files; CheckpointError if it has no
    readable config.json. A malformed index is ignored in favour of the config's estimate."""
    config = _read_json(path / CONFIG_FILE) if (path / CONFIG_FILE).is_file() else None
    if not isinstance(config, dict):
        raise CheckpointError(f"{CONFIG_FILE} is missing or not a JSON object")
    total: int | None = None
    if (path / INDEX_FILE).is_file():
        index = _read_json(path / INDEX_FILE)
        metadata = index.get("metadata") if isinstance(index, dict) else None
        size = metadata.get("total_size") if isinstance(metadata, dict) else None
        if isinstance(size, int) and size > 0:
            total = size
    return describe_config(config, path=str(path), index_total_size=total)
