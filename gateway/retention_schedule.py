"""The gateway's own retention runs: every ``retention.schedule_interval_s`` seconds (0: none).

Each run is the call ``POST /admin/retention/run`` makes (:func:`audit.retention.run_retention`,
in batches of ``retention.batch_size``, recorded as ``retention.run`` by the principal
``retention-scheduler``), with the retention policy in force at that moment. Only counts are
logged. A failed run is logged by error type and the next one comes after the next interval.
Each run also prunes the key-ring snapshots older than ``audit.keyring_snapshot_max_age_days``
(recorded as ``admin.keyring.prune`` when it deleted any), so an erasure completes for backups
within that age without a separate cron job.
Time and waiting are injected (``clock``, ``sleep``), so tests drive the schedule without waiting.
At shutdown a run in progress finishes its batch work (bounded by ``stop``'s timeout) before the
audit log closes; a schedule that is waiting is simply cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from audit.dsr_common import Actor
from audit.errors import AuditError
from audit.retention import RetentionLimits, RetentionReport, run_retention

if TYPE_CHECKING:
    from audit.store import AuditLog
    from gateway.services import Services
    from gateway.settings import RetentionSettings

log = structlog.get_logger("gateway.retention")

SCHEDULER_PRINCIPAL = "retention-scheduler"
STOP_TIMEOUT_S = 30.0

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class SnapshotPruning:
    """Where the key-ring snapshots live and how old they may get."""

    root: Path
    max_age: timedelta


Sleep = Callable[[float], Awaitable[Any]]


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


class RetentionSchedule:
    """Runs retention every ``interval_s`` seconds until :meth:`stop`."""

    def __init__(
        self,
        audit: AuditLog,
        policy: Callable[[], RetentionLimits],
        interval_s: float,
        batch_size: int,
        *,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        snapshots: SnapshotPruning | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("a retention schedule needs a positive interval")
        self._audit = audit
        self._policy = policy
        self._interval_s = interval_s
        self._batch_size = batch_size
        self._clock = clock
        self._sleep = sleep
        self._snapshots = snapshots
        self._task: asyncio.Task[None] | None = None
        self._in_run = False
        self._stopping = False
        self.runs = 0
        self.failures = 0

    def __repr__(self) -> str:
        return f"RetentionSchedule(interval_s={self._interval_s}, runs={self.runs})"

    async def run_once(self) -> RetentionReport | None:
        """One run now; None when it failed (logged by error type, never raised)."""
        from gateway.middleware import new_request_id

        actor = Actor(principal=SCHEDULER_PRINCIPAL, role="system", request_id=new_request_id())
        now = self._clock()
        await self._prune_snapshots(now, actor.request_id)
        try:
            report = await run_retention(
                self._audit, self._policy(), now, batch_size=self._batch_size, actor=actor
            )
        except AuditError as exc:
            self.failures += 1
            log.error("retention.scheduled_run_failed", error=type(exc).__name__)
            return None
        self.runs += 1
        log.info(
            "retention.scheduled_run",
            scanned=report.scanned,
            expired=sum(report.expired_by_kind.values()),
            held=report.held,
            day_keys=len(report.day_keys),
            records_in_day_keys=report.records_in_day_keys,
            records_cleared=report.records_cleared,
            record_seq=report.record_seq,
        )
        return report

    async def _prune_snapshots(self, now: datetime, request_id: str | None) -> None:
        """Delete expired key-ring snapshots; a failure is logged by type and never stops the run."""
        if self._snapshots is None:
            return
        import anyio

        from audit.keyring_snapshots import prune_snapshots
        from gateway.audit_events import operator_event

        where = self._snapshots
        try:
            pruned = await anyio.to_thread.run_sync(
                lambda: prune_snapshots(where.root, now=now, max_age=where.max_age)
            )
            if pruned.deleted:
                details = {
                    "deleted": list(pruned.deleted),
                    "kept": len(pruned.kept),
                    "max_age_days": where.max_age.days,
                    "request_id": request_id,
                }
                await self._audit.append(
                    operator_event("admin.keyring.prune", SCHEDULER_PRINCIPAL, "system", details)
                )
        except (OSError, AuditError) as exc:
            log.error("keyring.scheduled_prune_failed", error=type(exc).__name__)
            return
        log.info("keyring.scheduled_prune", deleted=len(pruned.deleted), kept=len(pruned.kept))

    async def _loop(self) -> None:
        while not self._stopping:
            await self._sleep(self._interval_s)
            if self._stopping:
                return
            self._in_run = True
            try:
                await self.run_once()
            finally:
                self._in_run = False

    def start(self) -> None:
        """Start the schedule in the running event loop (once)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="retention-schedule")

    async def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """End the schedule: a waiting one is cancelled, a run in progress may finish (up to
        ``timeout_s``, then it is cancelled; what its finished batches removed stays declared)."""
        task, self._task = self._task, None
        self._stopping = True
        if task is None or task.done():
            return
        if self._in_run:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), timeout_s)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def start_retention_schedule(services: Services, state: Any = None) -> RetentionSchedule | None:
    """The gateway's schedule per ``services.settings.retention``, started; None when it is off.
    ``state`` (the app's) may carry a ``clock`` and a ``retention_sleep`` for tests."""
    settings: RetentionSettings = services.settings.retention
    if settings.schedule_interval_s <= 0:
        return None
    overrides = state if state is not None else {}
    schedule = RetentionSchedule(
        services.audit,
        lambda: services.policy.retention,
        settings.schedule_interval_s,
        settings.batch_size,
        clock=overrides.get("clock") or utc_now,
        sleep=overrides.get("retention_sleep") or asyncio.sleep,
        snapshots=SnapshotPruning(
            services.settings.data_path / "keyring-snapshots",
            timedelta(days=services.settings.audit.keyring_snapshot_max_age_days),
        ),
    )
    schedule.start()
    log.info("retention.schedule_started", interval_s=settings.schedule_interval_s)
    return schedule


async def stop_retention_schedule(schedule: RetentionSchedule | None) -> None:
    """Stop a schedule started by :func:`start_retention_schedule` (None: nothing to do)."""
    if schedule is not None:
        await schedule.stop()
