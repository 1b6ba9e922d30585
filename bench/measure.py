"""What the pipeline bench measures, and how it turns timings into figures."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

POLL_SECONDS = 0.1
FINISHED = ("succeeded", "failed", "cancelled")
IDEA = "RSI(14) crosses above 30, long only, ATR stop, 2:1 take profit"


@dataclass
class Phase:
    """The jobs of one phase, with their database timestamps."""

    name: str
    submit_seconds: list[float] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)  # status, created, started, ended
    llm_calls: int = 0
    max_in_flight: int = 0

    @property
    def succeeded(self) -> list[tuple]:
        return [row for row in self.rows if row[0] == "succeeded"]


def measure_noop(redis_url: str, count: int) -> list[float]:
    """Round trips (seconds) of a no-op task, one at a time, on the idle worker."""
    from bench.noop import NOOP_TASK
    from workers.celery_app import app
    from workers.config import GENERATE_QUEUE

    reply_key = f"bench:noop:{secrets.token_hex(4)}"
    client = redis.Redis.from_url(redis_url)
    times = []
    # The first one also waits until the worker is up.
    for number in range(count + 1):
        started = time.perf_counter()
        app.send_task(NOOP_TASK, args=[reply_key], queue=GENERATE_QUEUE)
        if client.blpop([reply_key], timeout=90 if number == 0 else 10) is None:
            raise RuntimeError("the worker did not run the no-op task")
        if number:
            times.append(time.perf_counter() - started)
    client.close()
    return times


def set_generate_consumer(active: bool) -> None:
    """Stop or resume the worker's consumption of the generate queue."""
    from workers.celery_app import app
    from workers.config import GENERATE_QUEUE

    if active:
        replies = app.control.add_consumer(GENERATE_QUEUE, reply=True, timeout=10)
    else:
        replies = app.control.cancel_consumer(GENERATE_QUEUE, reply=True, timeout=10)
    if not replies:
        raise RuntimeError("the worker did not answer a consumer change")


def submit_jobs(
    api_url: str,
    tokens: list[str],
    phase: Phase,
    count: int,
    rate: float,
    clients: int,
) -> list[uuid.UUID]:
    """Submit ``count`` distinct jobs through the API, ``rate`` a second (0: all).

    Jobs go round the users whose ``tokens`` are given.
    """
    tag = secrets.token_hex(3)
    local = threading.local()
    first = time.monotonic()

    def submit(number: int) -> uuid.UUID:
        if rate:
            time.sleep(max(0.0, first + number / rate - time.monotonic()))
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=60)
        body = {"request": f"{IDEA} ({phase.name} {tag}, job {number})"}
        headers = {"Authorization": f"Bearer {tokens[number % len(tokens)]}"}
        started = time.perf_counter()
        response = local.client.post(
            f"{api_url}/strategies/generate", json=body, headers=headers
        )
        phase.submit_seconds.append(time.perf_counter() - started)
        response.raise_for_status()
        return uuid.UUID(response.json()["job_id"])

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(submit, range(count)))


def wait_for_jobs(database_url: str, job_ids: list, timeout: float) -> list[tuple]:
    """Poll the job rows until every one has finished; return their timestamps."""
    from engine.db import Job, make_engine

    engine = make_engine(database_url)
    query = select(Job.status, Job.created_at, Job.started_at, Job.finished_at)
    query = query.where(Job.id.in_(job_ids))
    deadline = time.monotonic() + timeout
    try:
        while True:
            with Session(engine) as session:
                rows = session.execute(query).all()
            if all(row.status in FINISHED for row in rows):
                return [tuple(row) for row in rows]
            if time.monotonic() > deadline:
                waiting = sum(row.status not in FINISHED for row in rows)
                raise RuntimeError(f"{waiting} jobs unfinished after {timeout:.0f}s")
            time.sleep(POLL_SECONDS)
    finally:
        engine.dispose()


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[rank]


def spread(values: list[float]) -> str:
    """``p50 … ms   p95 … ms`` of durations given in seconds."""
    p50, p95 = percentile(values, 0.50), percentile(values, 0.95)
    return f"p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms"


def _span(rows: list[tuple], start: int) -> float:
    first = min(row[start] for row in rows)
    return (max(row[3] for row in rows) - first).total_seconds()


def steady_lines(phase: Phase, latency: float) -> list[str]:
    """Per-job overheads of jobs submitted at a pace the stack keeps up with."""
    done = phase.succeeded
    total = [(row[3] - row[1]).total_seconds() - latency for row in done]
    queued = [(row[2] - row[1]).total_seconds() for row in done]
    running = [(row[3] - row[2]).total_seconds() - latency for row in done]
    mean = phase.llm_calls * latency / _span(done, 1)
    return [
        f"  end-to-end minus LLM latency   {spread(total)}",
        f"    created -> running           {spread(queued)}",
        f"    running, minus LLM latency   {spread(running)}",
        f"  API submit (POST) round trip   {spread(phase.submit_seconds)}",
        f"  LLM calls in flight            most {phase.max_in_flight}, mean {mean:.1f}",
        *_failures(phase),
    ]


def backlog_lines(phase: Phase, latency: float) -> list[str]:
    """Throughput and concurrency while the worker drains a full queue."""
    done = phase.succeeded
    span = _span(done, 2)
    mean = phase.llm_calls * latency / span
    return [
        f"  jobs/s                         {len(done) / span:7.1f}"
        f"   ({len(done)} in {span:.2f} s, first start to last finish)",
        f"  LLM calls in flight            most {phase.max_in_flight}, mean {mean:.1f}",
        *_failures(phase),
    ]


def _failures(phase: Phase) -> list[str]:
    failed = len(phase.rows) - len(phase.succeeded)
    return [f"  FAILED JOBS                    {failed}"] if failed else []
