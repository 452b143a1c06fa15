"""One hash chain, several writers: audit records per second on PostgreSQL when 1, 2 and 4
gateway processes append to the same audit log at once (docs/engine.md, several replicas).

Each process opens its own ``AuditLog`` on the same database schema and key ring, as replicas of
the gateway behind a load balancer do, and appends ``--records`` records at ``--concurrency``.
Every append waits for its COMMIT; appends of all processes link into one chain (the writer takes
the chain head under an advisory lock per transaction). The chain is verified afterwards. Not run
by CI.

    .venv/bin/python -m bench.audit_chain_processes [--processes 1 2 4] [--records 1000]
        [--concurrency 16] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import tempfile
import time
import uuid
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from audit.store import AuditLog, AuditSettings
from bench.audit_throughput import _event


def _settings(url: str, base: Path, name: str) -> AuditSettings:
    return AuditSettings(url=url, key_dir=base / "keys", checkpoint_file=base / f"{name}-checkpoints.jsonl")


async def _writer(
    url: str, schema: str, base: Path, index: int, records: int, concurrency: int, barrier: Barrier
) -> dict[str, Any]:
    engine = create_async_engine(url, pool_size=4, connect_args={"server_settings": {"search_path": schema}})
    log = await AuditLog.open(_settings(url, base, f"p{index}"), engine=engine)
    try:
        for i in range(10):  # warm up: connection, prepared statements, data key
            await log.append(_event(i))
        await asyncio.to_thread(barrier.wait)
        counter = iter(range(records))
        before = log.stats.transactions

        async def worker() -> None:
            for i in counter:
                await log.append(_event(index * 1_000_000 + i))

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        ended = time.monotonic()
        return {"started": started, "ended": ended, "records": records, "tx": log.stats.transactions - before}
    finally:
        await log.close()
        await engine.dispose()


def _child(
    url: str, schema: str, base: str, index: int, records: int, concurrency: int, barrier: Barrier, out: Any
) -> None:
    out.put(asyncio.run(_writer(url, schema, Path(base), index, records, concurrency, barrier)))


async def _prepare(url: str, schema: str, base: Path) -> None:
    # Tables and key ring made once, before the writers start (as a first gateway start would).
    engine = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
    log = await AuditLog.open(_settings(url, base, "setup"), engine=engine)
    await log.close()
    await engine.dispose()


async def _verify(url: str, schema: str, base: Path) -> tuple[int, bool]:
    engine = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
    log = await AuditLog.open(_settings(url, base, "verify"), engine=engine)
    try:
        report = await log.verify()
        return report.checked, report.ok
    finally:
        await log.close()
        await engine.dispose()


def run(url: str, processes: int, records: int, concurrency: int) -> None:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    schema = f"audit_chain_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE SCHEMA "{schema}"'))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            asyncio.run(_prepare(url, schema, base))
            ctx = mp.get_context("spawn")
            barrier = ctx.Barrier(processes)
            out = ctx.Queue()
            procs = [
                ctx.Process(target=_child, args=(url, schema, tmp, i, records, concurrency, barrier, out))
                for i in range(processes)
            ]
            for proc in procs:
                proc.start()
            results = [out.get(timeout=600) for _ in procs]
            for proc in procs:
                proc.join()
            span = max(r["ended"] for r in results) - min(r["started"] for r in results)
            total = sum(r["records"] for r in results)
            tx = sum(r["tx"] for r in results)
            checked, ok = asyncio.run(_verify(url, schema, base))
            print(
                f"processes={processes} c={concurrency} per process: {total / span:7.0f} records/s "
                f"({total} records in {span:.2f} s, {tx} transactions, {total / max(tx, 1):.1f} per "
                f"transaction); chain verified: {checked} records, ok={ok}"
            )
    finally:
        asyncio.run(admin(f'DROP SCHEMA "{schema}" CASCADE'))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--records", type=int, default=1000, help="per process")
    parser.add_argument("--concurrency", type=int, default=16, help="appends at once per process")
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    for processes in args.processes:
        run(args.postgres, processes, args.records, args.concurrency)


if __name__ == "__main__":
    main()
