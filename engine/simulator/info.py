"""The simulator's model card, SGLang's info routes and its Prometheus metrics, as plain data."""

from __future__ import annotations

from typing import Any

from engine.simulator.config import CONTEXT_LENGTH, SGLANG_COMPAT_VERSION, SimConfig
from engine.simulator.state import SimState


def model_card(config: SimConfig, created: int) -> dict[str, Any]:
    """The one served model's card, as SGLang's ``/v1/models`` lists it."""
    model = config.model
    return {
        "id": model,
        "object": "model",
        "created": created,
        "owned_by": "sglang",
        "root": model,
        "max_model_len": CONTEXT_LENGTH,
    }


def model_info(config: SimConfig) -> dict[str, Any]:
    """SGLang's ``/get_model_info`` body."""
    return {
        "model_path": config.model,
        "tokenizer_path": config.model,
        "is_generation": True,
        "preferred_sampling_params": None,
        "weight_version": "default",
        "has_image_understanding": False,
        "has_audio_understanding": False,
        "model_type": "deepseek_v3",
        "architectures": ["DeepseekV3ForCausalLM"],
    }


def server_info(config: SimConfig) -> dict[str, Any]:
    """SGLang's ``/get_server_info`` body (server arguments and state), marked as a simulator."""
    return {
        "model_path": config.model,
        "tokenizer_path": config.model,
        "served_model_name": config.model,
        "host": config.host,
        "port": config.port,
        "quantization": "fp8",
        "dtype": "auto",
        "kv_cache_dtype": "auto",
        "tp_size": 1,
        "dp_size": 1,
        "mem_fraction_static": 0.88,
        "context_length": CONTEXT_LENGTH,
        "max_running_requests": None,
        "chunked_prefill_size": 8192,
        "enable_metrics": True,
        "reasoning_parser": "deepseek-r1",
        "tool_call_parser": "deepseekv3",
        "trust_remote_code": True,
        "internal_states": [{"last_gen_throughput": 0.0, "avg_spec_accept_length": None}],
        "version": SGLANG_COMPAT_VERSION,
        "simulator": True,
        "simulator_mode": config.mode,
        "simulator_ttft_ms": config.ttft_ms,
        "simulator_tpot_ms": config.tpot_ms,
    }


def metrics_text(sim: SimState) -> str:
    """Prometheus text with SGLang's metric names, from the simulator's counters."""
    label = sim.config.model.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    stats = sim.stats
    rows = [
        ("num_running_reqs", "gauge", "The number of running requests.", stats.in_flight),
        ("num_queue_reqs", "gauge", "The number of requests in the waiting queue.", 0),
        ("num_used_tokens", "gauge", "The number of used tokens.", 0),
        ("token_usage", "gauge", "The token usage.", 0.0),
        ("gen_throughput", "gauge", "The generation throughput (token/s).", 0.0),
        ("cache_hit_rate", "gauge", "The prefix cache hit rate.", 0.0),
        ("prompt_tokens_total", "counter", "Number of prefill tokens processed.", stats.prompt_tokens),
        (
            "generation_tokens_total",
            "counter",
            "Number of generation tokens processed.",
            stats.generation_tokens,
        ),
        ("num_requests_total", "counter", "Number of requests processed.", stats.started),
        (
            "num_aborted_requests_total",
            "counter",
            "Number of requests aborted.",
            stats.cancelled + stats.aborted,
        ),
    ]
    lines = []
    for name, kind, help_text, value in rows:
        lines += [
            f"# HELP sglang:{name} {help_text}",
            f"# TYPE sglang:{name} {kind}",
            f'sglang:{name}{{model_name="{label}"}} {float(value)}',
        ]
    return "\n".join(lines) + "\n"
