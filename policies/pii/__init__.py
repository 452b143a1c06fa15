"""PII/PHI detection and redaction for the request path (design step 6).

``PIIDetector`` finds personal data (Presidio + spaCy + the project's English/Chinese
recognizers, fully offline); ``redact_chat_body`` / ``redact_completion_body`` apply a
role profile's actions to every text field the model would see.
"""

from policies.pii.analyzer import Finding, PIIDetector
from policies.pii.config import (
    Action,
    CustomPattern,
    PIIPolicy,
    PIIProfile,
    load_default_pii_policy,
    parse_pii_policy,
)
from policies.pii.redact_body import (
    PseudonymMap,
    RedactionReport,
    aredact_chat_body,
    aredact_completion_body,
    redact_chat_body,
    redact_completion_body,
)

__all__ = [
    "Action",
    "CustomPattern",
    "Finding",
    "PIIDetector",
    "PIIPolicy",
    "PIIProfile",
    "PseudonymMap",
    "RedactionReport",
    "aredact_chat_body",
    "aredact_completion_body",
    "load_default_pii_policy",
    "parse_pii_policy",
    "redact_chat_body",
    "redact_completion_body",
]
