"""The findings cache: keyed by HMAC, bounded, least recently used evicted first, thread-safe."""

from __future__ import annotations

import threading

import pytest

from policies.pii.cache import FindingCache


def test_a_hit_keeps_an_entry_and_the_least_recently_used_one_goes() -> None:
    cache: FindingCache[str] = FindingCache(b"s" * 32, 2)
    first, second, third = (cache.key(t) for t in ("one", "two", "three"))
    cache.put(first, "f1")
    cache.put(second, "f2")
    assert cache.get(first) == "f1"
    cache.put(third, "f3")
    assert cache.get(second) is None
    assert cache.get(first) == "f1" and cache.get(third) == "f3"
    assert len(cache) == 2 and cache.hits == 3 and cache.misses == 1


def test_a_zero_sized_cache_keeps_nothing() -> None:
    cache: FindingCache[str] = FindingCache(b"s" * 32, 0)
    cache.put(cache.key("x"), "v")
    assert cache.get(cache.key("x")) is None and len(cache) == 0


def test_keys_depend_on_the_secret_and_hold_no_text() -> None:
    text = "Robert Miller 13712345678"
    one, other = FindingCache[str](b"a" * 32, 4), FindingCache[str](b"b" * 32, 4)
    assert one.key(text) != other.key(text) and len(one.key(text)) == 32
    assert text.encode() not in one.key(text)
    with pytest.raises(ValueError):
        FindingCache[str](b"", 4)


def test_threads_sharing_the_cache_never_exceed_its_bound() -> None:
    cache: FindingCache[int] = FindingCache(b"s" * 32, 50)

    def work(offset: int) -> None:
        for index in range(2000):
            key = cache.key(str((offset * 7919 + index) % 300))
            if cache.get(key) is None:
                cache.put(key, index)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 50
    assert cache.hits + cache.misses == 8 * 2000
