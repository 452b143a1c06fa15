"""The gateway's scheduled retention runs: the same call as POST /admin/retention/run, every
``retention.schedule_interval_s``, driven here by an injected clock and sleep (no waiting), on a
SQLite file and on PostgreSQL; started and stopped by the app's lifespan."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from litestar.testing import TestClient
from test_dsr_retention import DPO, POLICY, audit, content_of, exchange  # noqa: F401  (fixture)

from audit.holds import create_hold
from audit.store import AuditLog
from gateway.app import create_app
from gateway.retention_schedule import RetentionSchedule
from gateway.settings import ConfigError, load_settings

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")


class SteppingTime:
    """A clock that each ``sleep`` moves forward by ``step``; the ``park_at``-th sleep waits
    until cancelled (the test has seen what it wanted by then)."""

    def __init__(self, step: timedelta, park_at: int) -> None:
        self.now = datetime.now(UTC)
        self.step = step
        self.park_at = park_at
        self.sleeps: list[float] = []
        self.parked = asyncio.Event()

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if len(self.sleeps) >= self.park_at:
            self.parked.set()
            await asyncio.Event().wait()
        self.now += self.step


async def test_scheduled_runs_tombstone_expired_keep_held_and_verify(
    audit: AuditLog,  # noqa: F811
) -> None:
    await exchange(audit, None, 1, "Anna Weber")  # seqs 1, 2
    await exchange(audit, "subject-held", 2, "Cora Lang")  # seqs 3, 4
    await create_hold(audit, datetime.now(UTC), DPO, subject_id="subject-held")
    time = SteppingTime(timedelta(days=20), park_at=3)
    schedule = RetentionSchedule(audit, lambda: POLICY, 3600.0, 1, clock=time.clock, sleep=time.sleep)
    with structlog.testing.capture_logs() as logs:
        schedule.start()
        await asyncio.wait_for(time.parked.wait(), 60)
        await schedule.stop()
    assert time.sleeps == [3600.0, 3600.0, 3600.0]
    assert schedule.runs == 2 and schedule.failures == 0
    runs = [e for e in logs if e["event"] == "retention.scheduled_run"]
    # Day 20: nothing past its 30 days yet. Day 40: the unheld exchange goes.
    assert [r["expired"] for r in runs] == [0, 2] and [r["held"] for r in runs] == [0, 2]
    assert all(
        set(r)
        <= {
            "event",
            "log_level",
            "scanned",
            "expired",
            "held",
            "day_keys",
            "records_in_day_keys",
            "records_cleared",
            "record_seq",
        }
        for r in runs
    )
    assert await content_of(audit, 1) in ("erased", "key_unavailable")
    assert isinstance(await content_of(audit, 3), dict)
    records = await audit.read_range(1, 10**6)
    scheduled = [r for r in records if r.kind == "retention.run" and r.principal == "retention-scheduler"]
    assert len(scheduled) >= 3  # two runs' own records and at least one erasure record
    assert (await audit.verify()).ok


async def test_a_failed_run_is_logged_by_type_and_the_schedule_goes_on(
    audit: AuditLog,  # noqa: F811
) -> None:
    calls = 0

    def policy() -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            from audit.errors import AuditUnavailable

            raise AuditUnavailable("the audit log cannot be read for retention")
        return POLICY

    time = SteppingTime(timedelta(days=1), park_at=3)
    schedule = RetentionSchedule(audit, policy, 60.0, 100, clock=time.clock, sleep=time.sleep)
    with structlog.testing.capture_logs() as logs:
        schedule.start()
        await asyncio.wait_for(time.parked.wait(), 60)
        await schedule.stop()
    assert schedule.failures == 1 and schedule.runs == 1
    failed = [e for e in logs if e["event"] == "retention.scheduled_run_failed"]
    assert failed == [
        {"event": "retention.scheduled_run_failed", "log_level": "error", "error": "AuditUnavailable"}
    ]


async def test_stop_lets_a_run_in_progress_finish(
    audit: AuditLog,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gateway.retention_schedule as module

    started, release = asyncio.Event(), asyncio.Event()
    real = module.run_retention

    async def gated_run(*args: Any, **kwargs: Any) -> Any:
        started.set()
        await release.wait()
        return await real(*args, **kwargs)

    async def sleep(_seconds: float) -> None:
        if started.is_set():
            await asyncio.Event().wait()

    monkeypatch.setattr(module, "run_retention", gated_run)
    schedule = RetentionSchedule(audit, lambda: POLICY, 60.0, 100, sleep=sleep)
    schedule.start()
    await asyncio.wait_for(started.wait(), 60)
    stopping = asyncio.create_task(schedule.stop())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not stopping.done()  # stop waits for the run in progress
    release.set()
    await asyncio.wait_for(stopping, 60)
    assert schedule.runs == 1
    assert "retention.run" in {r.kind for r in await audit.read_range(1, 10**6)}


def test_schedule_setting_is_off_by_default_and_bounded() -> None:
    assert load_settings(environ={}).retention.schedule_interval_s == 0
    on = load_settings(environ={"GATEWAY_RETENTION__SCHEDULE_INTERVAL_S": "86400"})
    assert on.retention.schedule_interval_s == 86400
    for bad in ("0.5", "-1"):
        with pytest.raises(ConfigError, match=r"retention\.schedule_interval_s"):
            load_settings(environ={"GATEWAY_RETENTION__SCHEDULE_INTERVAL_S": bad})
    with pytest.raises(ConfigError, match="single worker"):
        load_settings(
            environ={},
            overrides={
                "retention": {"schedule_interval_s": 3600},
                "server": {"workers": 2},
                "ratelimit": {"redis_url": "redis://127.0.0.1:6379/0"},
            },
        )


def test_the_lifespan_starts_the_schedule_and_stops_it_at_shutdown(tmp_path: Path) -> None:
    settings = load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp_path / "var"),
            "engine": {"urls": ["http://127.0.0.1:1"]},
            "retention": {"schedule_interval_s": 3600, "batch_size": 10},
        },
    )
    app = create_app(settings)
    sleeps: list[float] = []
    parked = threading.Event()

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) >= 2:
            parked.set()
            await asyncio.Event().wait()

    app.state.clock = lambda: datetime.now(UTC) + timedelta(days=1)
    app.state.retention_sleep = sleep
    with TestClient(app) as client:
        assert parked.wait(60)

        async def kinds() -> list[tuple[str, str | None]]:
            records = await app.state.services.audit.read_range(1, 10**6)
            return [(r.kind, r.principal) for r in records]

        assert ("retention.run", "retention-scheduler") in client.blocking_portal.call(kinds)
    assert sleeps == [3600, 3600]  # shutdown cancelled the waiting schedule


async def test_each_run_prunes_key_ring_snapshots_past_their_age(
    audit: AuditLog,  # noqa: F811
    tmp_path: Path,
) -> None:
    """An erasure completes for backups once the snapshots taken before it are gone: the schedule
    prunes them without a cron job, and records what it deleted (ids and counts, no key bytes)."""
    from audit.keyring import LocalKeyFileProvider
    from audit.keyring_snapshots import list_snapshots, take_snapshot
    from gateway.retention_schedule import SnapshotPruning

    key_dir = tmp_path / "snapshot-ring"
    LocalKeyFileProvider(key_dir)  # a key ring with its first KEK version
    root, max_age, snapshot_key = tmp_path / "snaps", timedelta(days=30), b"s" * 32
    time = SteppingTime(timedelta(days=20), park_at=2)  # one run, on day 20
    old = take_snapshot(key_dir, root, snapshot_key, now=time.now - timedelta(days=15), max_age=max_age)
    new = take_snapshot(key_dir, root, snapshot_key, now=time.now + timedelta(days=10), max_age=max_age)
    schedule = RetentionSchedule(
        audit,
        lambda: POLICY,
        3600.0,
        100,
        clock=time.clock,
        sleep=time.sleep,
        snapshots=SnapshotPruning(root, max_age),
    )
    schedule.start()
    await asyncio.wait_for(time.parked.wait(), 60)
    await schedule.stop()
    # Day 20: the snapshot taken on day -15 is 35 days old and goes; the one of day 10 stays.
    assert [s.snapshot_id for s in list_snapshots(root, max_age=max_age)] == [new.snapshot_id]
    records = await audit.read_range(1, 10**6)
    prunes = [r for r in records if r.kind == "admin.keyring.prune"]
    assert len(prunes) == 1 and prunes[0].principal == "retention-scheduler"
    assert (await audit.verify()).ok
    assert old.snapshot_id not in {s.snapshot_id for s in list_snapshots(root, max_age=max_age)}
