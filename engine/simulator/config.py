"""Settings of one simulator process and the SGLang constants it reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SGLANG_COMPAT_VERSION = "0.5.0+simulator"
CONTEXT_LENGTH = 163_840  # DeepSeek-V3's context window
EOS_TOKEN_ID = 1  # DeepSeek-V3's <｜end▁of▁sentence｜>; SGLang reports it as matched_stop on a natural stop


@dataclass(frozen=True)
class SimConfig:
    """Settings of one simulator process."""

    host: str = "127.0.0.1"
    port: int = 30000
    mode: Literal["echo", "script"] = "echo"
    script_path: str | None = None
    ttft_ms: float = 0.0
    tpot_ms: float = 0.0
    api_key: str | None = None
    model: str = "deepseek-ai/DeepSeek-V3"
    max_recorded: int = 1000

    def __post_init__(self) -> None:
        if self.mode not in ("echo", "script"):
            raise ValueError("mode must be 'echo' or 'script'")
        if self.mode == "script" and not self.script_path:
            raise ValueError("script mode needs script_path")
        if self.ttft_ms < 0 or self.tpot_ms < 0:
            raise ValueError("ttft_ms and tpot_ms must not be negative")
        if self.max_recorded < 0:
            raise ValueError("max_recorded must not be negative")

    def __repr__(self) -> str:  # the key never appears in a repr or a log
        return (
            f"SimConfig(host={self.host!r}, port={self.port}, mode={self.mode!r}, "
            f"script_path={self.script_path!r}, ttft_ms={self.ttft_ms}, tpot_ms={self.tpot_ms}, "
            f"api_key={'***' if self.api_key else None}, model={self.model!r}, "
            f"max_recorded={self.max_recorded})"
        )
