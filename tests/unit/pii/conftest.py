from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from policies.pii.config import PIIPolicy, load_default_pii_policy


@pytest.fixture(scope="session")
def pii_policy() -> PIIPolicy:
    return load_default_pii_policy()


@pytest.fixture(scope="session")
def detector(pii_policy: PIIPolicy) -> PIIDetector:
    """Loaded once per session: spaCy and jieba take about a second."""
    return PIIDetector(pii_policy, cache_key=b"test-cache-key-0123456789abcdef", cache_entries=5000)
