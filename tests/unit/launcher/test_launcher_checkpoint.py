"""Describing a checkpoint from its config.json and safetensors index, without weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.launcher.checkpoint import (
    CheckpointError,
    describe_checkpoint,
    describe_config,
    estimate_parameters,
)
from tests.unit.launcher.conftest import CHECKPOINTS, DEEPSEEK_V3, QWEN3_MOE_FP8, R1_DISTILL, checkpoint


def test_r1_distill_is_dense_bf16_of_about_65_gb() -> None:
    ck = checkpoint(R1_DISTILL)
    assert not ck.is_moe and not ck.fp8_serialized and ck.quant_method is None
    assert ck.weight_source == "safetensors index"
    assert ck.weight_bytes is not None and 64e9 < ck.weight_bytes < 67e9
    assert ck.num_attention_heads == 40


def test_deepseek_v3_is_an_fp8_moe_checkpoint_of_about_685_gb() -> None:
    ck = checkpoint(DEEPSEEK_V3)
    assert ck.is_moe and ck.experts == 256
    assert ck.fp8_serialized and ck.quant_method == "fp8"
    assert ck.weight_bytes is not None and 680e9 < ck.weight_bytes < 695e9


def test_without_an_index_the_size_is_estimated_from_the_config() -> None:
    ck = checkpoint(QWEN3_MOE_FP8)
    assert ck.weight_source == "estimated from config.json"
    assert ck.is_moe and ck.fp8_serialized
    # About 30.5 B parameters at one byte each (FP8).
    assert ck.weight_bytes is not None and 29e9 < ck.weight_bytes < 32e9


@pytest.mark.parametrize("name", [R1_DISTILL, DEEPSEEK_V3])
def test_the_estimate_agrees_with_the_index_within_three_percent(name: str) -> None:
    config = json.loads((CHECKPOINTS / name / "config.json").read_text())
    ck = checkpoint(name)
    params = estimate_parameters(config)
    assert params is not None and ck.weight_bytes is not None
    bytes_per_param = 1 if ck.fp8_serialized else 2
    assert abs(params * bytes_per_param - ck.weight_bytes) / ck.weight_bytes < 0.03


def test_other_quantization_methods_are_kept_and_their_size_not_guessed() -> None:
    config = json.loads((CHECKPOINTS / R1_DISTILL / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "awq", "bits": 4}
    ck = describe_config(config)
    assert ck.quant_method == "awq" and not ck.fp8_serialized
    assert ck.weight_bytes is None and ck.weight_source == "unknown"


def test_a_directory_without_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"config\.json"):
        describe_checkpoint(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="JSONDecodeError"):
        describe_checkpoint(tmp_path)
