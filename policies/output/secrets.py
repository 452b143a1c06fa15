"""Built-in secret patterns: API keys, cloud and forge tokens, private keys, passwords in URLs, JWTs.

Every pattern has a finite maximum width so the streaming filter's hold-back stays bounded.
Private key PEM blocks have no useful bound: only their header is matched, and the default
action for it is ``block`` (a key body after a redacted header would still leak).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class SecretPattern:
    """One built-in secret kind. ``group`` names the part replaced (``None`` = the whole match)."""

    name: str
    pattern: str
    default_action: str
    group: str | None = None


# A left boundary so "task-..." or "bgw_..." inside longer identifiers are not taken for keys.
_LEFT = r"(?<![A-Za-z0-9_-])"

# Known URL schemes only: with "any word" as a scheme every word would be a possible prefix of a
# match and the stream would hold each word back until the next space.
_SCHEMES = (
    r"postgres(?:ql)?(?:\+[a-z0-9]{1,12})?|mysql(?:\+[a-z0-9]{1,12})?|mariadb|mongodb(?:\+srv)?|rediss?|"
    r"amqps?|https?|ftps?|sftp|smtps?|imaps?|ldaps?|mssql(?:\+[a-z0-9]{1,12})?|sqlserver|oracle(?:\+[a-z0-9]{1,12})?|"
    r"jdbc:[a-z0-9]{1,16}|clickhouse|snowflake|kafka|nats|mqtts?|sqlalchemy"
)

SECRET_PATTERNS: Mapping[str, SecretPattern] = MappingProxyType(
    {
        p.name: p
        for p in (
            SecretPattern(
                "openai_api_key", _LEFT + r"sk-(?:proj-|live-|test-|ant-)?[A-Za-z0-9_-]{20,200}", "redact"
            ),
            SecretPattern("gateway_api_key", _LEFT + r"gw_[A-Za-z0-9_-]{16,200}", "redact"),
            SecretPattern(
                "aws_access_key_id", r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])", "redact"
            ),
            SecretPattern(
                "github_token",
                _LEFT + r"(?:(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})",
                "redact",
            ),
            SecretPattern("private_key", r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY( BLOCK)?-----", "block"),
            SecretPattern(
                "connection_string_password",
                r"(?<![A-Za-z0-9+.-])(?i:" + _SCHEMES + r")://[^\s:/@]{1,64}:(?P<secret>[^\s@/]{1,128})@",
                "redact",
                group="secret",
            ),
            SecretPattern(
                "jwt",
                _LEFT + r"eyJ[A-Za-z0-9_-]{8,1024}\.eyJ[A-Za-z0-9_-]{8,2048}\.[A-Za-z0-9_-]{16,512}",
                "redact",
            ),
        )
    }
)
