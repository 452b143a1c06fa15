"""The launch decision for A100, H100, H200, L40S and no-GPU machines, for DeepSeek-R1-Distill-
Qwen-32B (dense BF16), DeepSeek-V3 (FP8 MoE checkpoint) and an FP8 MoE checkpoint on A100."""

from __future__ import annotations

import dataclasses
import json

import pytest

from engine.launcher.checkpoint import describe_config
from engine.launcher.inventory import GpuInventory, parse_nvidia_smi_csv
from engine.launcher.plan import ENGINE_HOST, LaunchPlan, LaunchRefused, LaunchRequest, plan_launch
from tests.unit.launcher.conftest import CHECKPOINTS, DEEPSEEK_V3, QWEN3_MOE_FP8, R1_DISTILL, checkpoint, gpus


def plan(inventory: GpuInventory, model: str, **asked: object) -> LaunchPlan:
    return plan_launch(inventory, checkpoint(model), LaunchRequest(model_path=f"/models/{model}", **asked))  # type: ignore[arg-type]


def refusal(inventory: GpuInventory, model: str, **asked: object) -> str:
    with pytest.raises(LaunchRefused) as caught:
        plan(inventory, model, **asked)
    return str(caught.value)


def explained(p: LaunchPlan, prefix: str) -> str:
    (line,) = [line for line in p.explanations if line.startswith(prefix)]
    return line


# ----------------------------------------------------------------------------- Hopper and Ada


@pytest.mark.parametrize("machine", ["h100.csv", "h200.csv", "l40s.csv"])
def test_fp8_on_hopper_and_ada_is_w8a8_on_fp8_tensor_cores(machine: str) -> None:
    p = plan(gpus(machine), R1_DISTILL, quantization="fp8")
    assert p.quantization == "fp8"
    assert p.precision == "FP8 W8A8"
    assert "FP8 W8A8 on the FP8 tensor cores" in explained(p, "precision:")
    # Half of ~61 GiB fits one GPU of each of these.
    assert p.tp == 1


def test_r1_distill_in_bf16_needs_two_h100s_but_one_h200() -> None:
    assert plan(gpus("h100.csv"), R1_DISTILL).tp == 2
    h200 = plan(gpus("h200.csv"), R1_DISTILL)
    assert (h200.tp, h200.quantization, h200.precision) == (1, None, "BF16")
    assert "fewest GPUs" in explained(h200, "tensor parallel")


def test_deepseek_v3_fp8_checkpoint_launches_without_quantization_flag_on_h200() -> None:
    p = plan(gpus("h200.csv"), DEEPSEEK_V3)
    assert p.quantization is None
    assert p.precision == "FP8 W8A8"
    assert p.tp == 8
    line = explained(p, "precision:")
    assert "already FP8" in line and "no --quantization" in line


def test_asking_fp8_for_an_fp8_checkpoint_adds_no_flag() -> None:
    p = plan(gpus("h200.csv"), DEEPSEEK_V3, quantization="fp8")
    assert p.quantization is None
    assert "implied" in explained(p, "precision:")


def test_deepseek_v3_does_not_fit_one_h100_node_and_fp8_is_not_offered_again() -> None:
    message = refusal(gpus("h100.csv"), DEEPSEEK_V3)
    assert message.startswith("refused: the weights (641.3 GiB) do not fit")
    assert "--nnodes" in message
    assert "--quantization fp8 would" not in message


def test_deepseek_v3_on_two_h100_nodes_spans_both_with_tp16() -> None:
    p = plan(gpus("h100.csv"), DEEPSEEK_V3, nnodes=2, node_rank=1, dist_init_addr="10.0.0.1:5000")
    assert (p.tp, p.nnodes, p.node_rank, p.dist_init_addr) == (16, 2, 1, "10.0.0.1:5000")
    assert not p.serves_http
    assert "only node 0 serves HTTP" in explained(p, "multi-node:")


def test_fp8_moe_runs_on_ada() -> None:
    p = plan(gpus("l40s.csv"), QWEN3_MOE_FP8)
    assert (p.quantization, p.precision, p.tp) == (None, "FP8 W8A8", 1)


# ----------------------------------------------------------------------------- Ampere


@pytest.mark.parametrize("machine", ["a100-40gb.csv", "a100-80gb.csv"])
def test_fp8_on_a100_is_weight_only_through_marlin(machine: str) -> None:
    p = plan(gpus(machine), R1_DISTILL, quantization="fp8")
    assert p.quantization == "fp8"
    assert p.precision == "FP8 W8A16 (Marlin)"
    line = explained(p, "precision:")
    assert "Marlin" in line and "memory halves" in line and "compute stays BF16" in line
    assert "halved by FP8" in explained(p, "memory:")
    assert p.tp == 1


def test_r1_distill_in_bf16_needs_two_a100_40gb_and_one_a100_80gb() -> None:
    assert plan(gpus("a100-40gb.csv"), R1_DISTILL).tp == 2
    assert plan(gpus("a100-80gb.csv"), R1_DISTILL).tp == 1


@pytest.mark.parametrize("model", [DEEPSEEK_V3, QWEN3_MOE_FP8])
@pytest.mark.parametrize("machine", ["a100-40gb.csv", "a100-80gb.csv"])
def test_fp8_moe_checkpoint_is_refused_on_a100_naming_the_alternatives(model: str, machine: str) -> None:
    message = refusal(gpus(machine), model)
    assert message.startswith("refused: this is an FP8 mixture-of-experts model")
    assert "no FP8 tensor cores" in message
    for alternative in ("BF16 checkpoint", "AWQ", "GPTQ", "H100"):
        assert alternative in message


def test_online_fp8_of_a_bf16_moe_is_refused_on_a100_but_bf16_is_not() -> None:
    config = json.loads((CHECKPOINTS / R1_DISTILL / "config.json").read_text())
    moe = describe_config({**config, "num_experts": 8}, index_total_size=60 * 1024**3)
    request = LaunchRequest(model_path="/models/moe", quantization="fp8")
    with pytest.raises(LaunchRefused, match="mixture-of-experts"):
        plan_launch(gpus("a100-80gb.csv"), moe, request)
    assert plan_launch(gpus("a100-80gb.csv"), moe, dataclasses.replace(request, quantization=None)).tp == 1


# ----------------------------------------------------------------------------- no GPU, old GPU


@pytest.mark.parametrize("model", [R1_DISTILL, DEEPSEEK_V3, QWEN3_MOE_FP8])
def test_no_gpu_is_refused_pointing_at_the_simulator(model: str) -> None:
    message = refusal(gpus("none.txt"), model)
    assert "no NVIDIA GPU" in message and "gateway engine sim" in message


def test_a_gpu_older_than_ampere_is_refused() -> None:
    t4 = parse_nvidia_smi_csv("0, Tesla T4, 15360, 7.5\n")
    assert "predates Ampere" in refusal(t4, R1_DISTILL)


# ----------------------------------------------------------------------------- sizes and counts


def test_memory_line_shows_per_gpu_weights_and_what_is_left_for_the_kv_cache() -> None:
    p = plan(gpus("h100.csv"), R1_DISTILL)
    line = explained(p, "memory:")
    assert "/ tp 2 = 30.5 GiB per GPU" in line and "for the KV cache" in line
    assert p.weight_bytes_per_gpu == checkpoint(R1_DISTILL).weight_bytes // 2  # type: ignore[operator]


def test_explicit_tp_too_small_for_the_weights_is_refused_and_fp8_is_suggested() -> None:
    message = refusal(gpus("a100-40gb.csv"), R1_DISTILL, tp=1)
    assert "do not fit" in message and "--quantization fp8 would halve the weights and fit" in message


def test_tp_times_dp_beyond_the_gpus_is_refused() -> None:
    assert "needs 16 GPUs; there are 8 GPUs" in refusal(gpus("h100.csv"), R1_DISTILL, tp=8, dp=2)


def test_tp_must_divide_the_attention_heads() -> None:
    assert "does not divide the model's 40 attention heads" in refusal(gpus("h100.csv"), R1_DISTILL, tp=3)


def test_data_parallel_replicas_each_get_their_tp() -> None:
    p = plan(gpus("a100-80gb.csv"), R1_DISTILL, dp=8)
    assert (p.tp, p.dp) == (1, 8)
    assert "8 of 8 GPUs" in explained(p, "tensor parallel")
    crowded = refusal(gpus("a100-40gb.csv"), R1_DISTILL, dp=8)
    assert "1 GPU(s) per replica" in crowded and "lower --dp" in crowded


def test_lower_mem_fraction_can_push_to_more_gpus() -> None:
    assert plan(gpus("a100-80gb.csv"), R1_DISTILL, mem_fraction_static=0.5).tp == 2


def test_unknown_weight_size_needs_weights_gib() -> None:
    config = json.loads((CHECKPOINTS / R1_DISTILL / "config.json").read_text())
    awq = describe_config({**config, "quantization_config": {"quant_method": "awq"}})
    request = LaunchRequest(model_path="/models/awq")
    with pytest.raises(LaunchRefused, match="--weights-gib"):
        plan_launch(gpus("l40s.csv"), awq, request)
    p = plan_launch(gpus("l40s.csv"), awq, dataclasses.replace(request, weights_gib=18.0))
    assert p.quantization is None and "awq" in explained(p, "precision:")
    with pytest.raises(LaunchRefused, match="already quantized"):
        plan_launch(gpus("l40s.csv"), awq, dataclasses.replace(request, weights_gib=18.0, quantization="fp8"))


def test_context_length_is_checked_against_the_model() -> None:
    assert "context length: 32768" in "\n".join(
        plan(gpus("h200.csv"), R1_DISTILL, context_length=32768).explanations
    )
    assert "longer than the model's 131072" in refusal(gpus("h200.csv"), R1_DISTILL, context_length=200_000)


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ({"nnodes": 2}, "--dist-init-addr HOST:PORT"),
        ({"nnodes": 2, "dist_init_addr": "10.0.0.1"}, "--dist-init-addr HOST:PORT"),
        ({"nnodes": 2, "node_rank": 2, "dist_init_addr": "10.0.0.1:5000"}, "--node-rank"),
        ({"mem_fraction_static": 1.2}, "--mem-fraction-static"),
        ({"kv_cache_dtype": "int4"}, "--kv-cache-dtype"),
        ({"dp": 0}, "at least 1"),
        ({"port": 70000}, "--port"),
    ],
)
def test_bad_requests_are_refused_before_anything_else(asked: dict[str, object], message: str) -> None:
    assert message in refusal(gpus("h100.csv"), R1_DISTILL, **asked)


# ----------------------------------------------------------------------------- what every plan holds


@pytest.mark.parametrize("machine", ["a100-80gb.csv", "h100.csv", "h200.csv", "l40s.csv"])
def test_every_plan_serves_loopback_and_explains_each_choice(machine: str) -> None:
    p = plan(gpus(machine), R1_DISTILL, quantization="fp8", kv_cache_dtype="fp8_e5m2")
    assert p.host == ENGINE_HOST == "127.0.0.1"
    prefixes = ("GPUs:", "precision:", "tensor parallel", "memory:", "KV cache:", "serving:")
    assert [line.split(" ")[0] for line in p.explanations] == [prefix.split(" ")[0] for prefix in prefixes]
    assert "fp8_e5m2" in explained(p, "KV cache:")
    assert "API key" in explained(p, "serving:")


def test_the_decision_is_a_pure_function() -> None:
    assert plan(gpus("h100.csv"), R1_DISTILL) == plan(gpus("h100.csv"), R1_DISTILL)


def test_mixed_gpus_are_said_to_follow_the_weakest() -> None:
    mixed = parse_nvidia_smi_csv(
        "0, NVIDIA H100 80GB HBM3, 81559, 9.0\n1, NVIDIA A100-SXM4-80GB, 81920, 8.0\n"
    )
    p = plan(mixed, R1_DISTILL, quantization="fp8")
    assert p.precision == "FP8 W8A16 (Marlin)"
    assert "follows the weakest" in explained(p, "GPUs:")
