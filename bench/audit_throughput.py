"""Audit log throughput with group commit, and the latency one append adds.

Measures records/second at concurrency 1, 16 and 64 on SQLite (file, WAL, synchronous=FULL) and,
when reachable, PostgreSQL; plus p50/p99 of a single append at concurrency 1. Every append waits
for its COMMIT. Not run by CI.

    .venv/bin/python bench/audit_throughput.py [--records 2000] [--postgres URL]

To compare two trees side by side (docs/benchmarks.md), run each with ``PYTHONPATH=<tree>``:
the virtual environment's editable install would otherwise import this checkout's ``audit``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from audit.records import AuditEvent
from audit.store import AuditLog, AuditSettings


def _event(i: int) -> AuditEvent:
    return AuditEvent(
        kind="chat.request",
        principal="bench-user",
        role="clinician",
        model="deepseek",
        request_id=f"req-{i}",
        subject_id=f"patient-{i % 50}",
        decision="allow",
        entity_counts={"PERSON": 1, "PHONE": 1},
        payload={
            "request": {"messages": [{"role": "user", "content": "x" * 200}]},
            "pseudonyms": {"<P1>": "y"},
        },
    )


async def _run(log: AuditLog, records: int, concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    counter = iter(range(records))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            await log.append(_event(i))
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return records / (time.perf_counter() - started), latencies


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def bench(name: str, settings: AuditSettings, engine: AsyncEngine | None, records: int) -> None:
    log = await AuditLog.open(settings, engine=engine)
    await _run(log, 50, 4)  # warm up
    for concurrency in (1, 16, 64):
        before = log.stats.transactions
        rate, latencies = await _run(log, records if concurrency > 1 else records // 2, concurrency)
        tx = log.stats.transactions - before
        print(
            f"{name:10} c={concurrency:<3} {rate:9.0f} records/s  p50 {_pct(latencies, 50):6.2f} ms  "
            f"p99 {_pct(latencies, 99):6.2f} ms  ({len(latencies)} records in {tx} transactions)"
        )
    started = time.perf_counter()
    report = await log.verify()
    print(
        f"{name:10} verify {report.checked} records (decrypting each): "
        f"{time.perf_counter() - started:.2f} s, "
        f"ok={report.ok}"
    )
    await log.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        settings = AuditSettings(
            url=f"sqlite+aiosqlite:///{base / 'audit.db'}",
            key_dir=base / "keys",
            checkpoint_file=base / "checkpoints.jsonl",
        )
        await bench("sqlite", settings, None, args.records)
        schema = f"audit_bench_{uuid.uuid4().hex[:8]}"
        dsn = args.postgres.replace("postgresql+asyncpg://", "postgresql://")
        try:
            admin = await asyncpg.connect(dsn, timeout=3)
        except (OSError, asyncpg.PostgresError) as exc:
            print(f"postgresql skipped: {type(exc).__name__}")
            return
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        engine = create_async_engine(
            args.postgres, pool_size=10, connect_args={"server_settings": {"search_path": schema}}
        )
        try:
            await bench(
                "postgresql",
                AuditSettings(
                    url=args.postgres, key_dir=base / "keys", checkpoint_file=base / "pg-checkpoints.jsonl"
                ),
                engine,
                args.records,
            )
        finally:
            await engine.dispose()
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
