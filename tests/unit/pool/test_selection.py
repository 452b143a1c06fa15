"""Choosing a worker: least loaded available, not saturated; why nothing was chosen."""

from __future__ import annotations

from engine.pool.breaker import CircuitBreaker
from engine.pool.metrics import parse_load
from engine.pool.selection import NoWorker, choose_worker
from engine.pool.worker import WorkerState, display_url


def workers(*loads: int) -> list[WorkerState]:
    return [
        WorkerState(f"http://w{i}", CircuitBreaker(1, 10.0, lambda: 0.0), in_flight=n)
        for i, n in enumerate(loads)
    ]


def test_the_least_busy_worker_is_chosen() -> None:
    pool = workers(3, 1, 2)
    assert choose_worker(pool).worker is pool[1]


def test_equal_loads_take_turns() -> None:
    pool = workers(0, 0, 0)
    chosen = [choose_worker(pool, rotation=r).worker for r in range(3)]
    assert chosen == pool


def test_unhealthy_open_and_tried_workers_are_skipped() -> None:
    pool = workers(0, 5, 9)
    pool[0].healthy = False
    pool[1].breaker.record_failure()  # type: ignore[union-attr]
    assert choose_worker(pool).worker is pool[2]
    assert choose_worker(pool, exclude={"http://w2"}).reason is NoWorker.UNAVAILABLE


def test_all_at_their_maximum_is_saturated_not_unavailable() -> None:
    pool = workers(2, 2)
    assert choose_worker(pool, max_in_flight=2).reason is NoWorker.SATURATED
    assert choose_worker(pool, max_in_flight=3).worker is not None
    assert choose_worker(pool, max_in_flight=0).worker is not None  # 0: no bound


def test_metrics_weight_the_choice_by_other_callers_work() -> None:
    pool = workers(1, 2)
    # Worker 0 reported 10 running and 5 queued when we had 1 there: 14 requests of others.
    pool[0].running, pool[0].queued, pool[0].in_flight_at_scrape = 10.0, 5.0, 1
    pool[1].running, pool[1].queued, pool[1].in_flight_at_scrape = 2.0, 0.0, 2
    assert choose_worker(pool, use_metrics=False).worker is pool[0]
    assert choose_worker(pool, use_metrics=True).worker is pool[1]
    assert pool[0].load(True) == 15.0


def test_the_gauges_are_read_from_prometheus_text() -> None:
    text = (
        "# TYPE sglang:num_running_reqs gauge\n"
        'sglang:num_running_reqs{model_name="a",dp_rank="0"} 3\n'
        'sglang:num_running_reqs{model_name="a",dp_rank="1"} 4\n'
        "# TYPE sglang:num_queue_reqs gauge\n"
        'sglang:num_queue_reqs{model_name="a"} 2\n'
        "# TYPE sglang:other gauge\nsglang:other 99\n"
    )
    load = parse_load(text)
    assert (load.running, load.queued) == (7.0, 2.0)
    assert parse_load("not { prometheus").running is None
    assert parse_load("").queued is None


def test_displayed_urls_carry_no_credentials() -> None:
    assert display_url("http://user:s3cret@10.0.0.5:30000/v1?token=x#f") == "http://10.0.0.5:30000/v1"
