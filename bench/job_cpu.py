"""CPU time of one generate job in the worker, split at the model call.

    python -m bench.job_cpu [--jobs 150]

Runs the ``generate`` task's own steps (claim, pipeline, result) one job at a
time in this process, against the fake LLM server answering at once, with
PostgreSQL and Redis (a scratch database and Redis db, see ``bench/stack.py``).
Each part is timed with the thread's CPU clock, so no other thread, no
waiting on the network and little of the machine's noise is counted.

What a worker spends before a job's call decides how fast a full queue gets
its calls going: with a backlog, one process starts about (latency / CPU
before the call) calls before the first answers come back, which is what
``bench.pipeline_bench`` reports as the most calls in flight.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

from bench.pipeline_bench import pipeline_environment
from bench.stack import create_scratch, drop_scratch, scratch_services
from tests.fakes.llm_server import FakeLLMServer

#: Jobs run first and not counted (caches, pools, first connections).
WARMUP = 10


class _Clock:
    """Sums of thread CPU seconds by part, and marks around the HTTP send."""

    def __init__(self) -> None:
        self.parts: dict[str, float] = defaultdict(float)
        self.send_started = 0.0
        self.send_ended = 0.0

    def wrap_send(self, client_class: type) -> None:
        """Mark where every HTTP request of ``client_class`` starts and ends."""
        send = client_class.send
        clock = self

        def timed_send(self, *args, **kwargs):
            clock.send_started = time.thread_time()
            try:
                return send(self, *args, **kwargs)
            finally:
                clock.send_ended = time.thread_time()

        client_class.send = timed_send


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.job_cpu", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--jobs", type=int, default=150, help="jobs measured")
    parser.add_argument("--database", default="pineforge_bench_cpu")
    parser.add_argument("--redis-db", type=int, default=11)
    return parser.parse_args(argv)


def queued_jobs(count: int) -> list[uuid.UUID]:
    """``count`` distinct jobs of one admin-plan user, admitted as the API does."""
    from engine import jobs
    from engine.accounts.admission import admit_generation
    from engine.db import User, session_scope

    with session_scope() as session:
        user = User(email="cpu-bench@example.com", plan="admin")
        session.add(user)
    job_ids = []
    for number in range(count):
        with session_scope() as session:
            owner = session.get(User, user.id)
            request = f"EMA 9/21 cross with an RSI filter, job {number}"
            job, _ = jobs.create_job(session, owner.id, request, {})
            admit_generation(session, owner, job.id)
            job_ids.append(job.id)
    return job_ids


def measure(job_count: int) -> dict[str, float]:
    """Run the jobs; return CPU milliseconds per job by part."""
    import openai

    from engine.logging import configure_logging
    from engine.settings import get_settings
    from engine.validate import warm_parser
    from workers import tasks

    configure_logging(get_settings())
    warm_parser()
    job_ids = queued_jobs(WARMUP + job_count)
    gc.collect()
    gc.freeze()  # as the worker does after start-up

    clock = _Clock()
    # The HTTP client class the SDK sends with, whichever library it is.
    clock.wrap_send(type(openai.OpenAI(api_key="unused")._client))
    for job_id in job_ids[:WARMUP]:
        tasks._run(tasks._claim(job_id))
    for job_id in job_ids[WARMUP:]:
        started = time.thread_time()
        claim = tasks._claim(job_id)
        claimed = time.thread_time()
        tasks._run(claim)
        ended = time.thread_time()
        clock.parts["claim"] += claimed - started
        clock.parts["before the call"] += clock.send_started - started
        clock.parts["the HTTP call"] += clock.send_ended - clock.send_started
        clock.parts["after the call"] += ended - clock.send_ended
        clock.parts["whole job"] += ended - started
    return {part: 1000 * total / job_count for part, total in clock.parts.items()}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scratch = scratch_services(args.database, args.redis_db)
    var_dir = Path(tempfile.mkdtemp(prefix="pineforge-bench-cpu-"))
    fake = FakeLLMServer().start()
    os.environ.update(pipeline_environment(scratch, var_dir, fake, "WARNING"))
    try:
        create_scratch(scratch)
        per_job = measure(args.jobs)
    finally:
        fake.stop()
        drop_scratch(scratch)
        shutil.rmtree(var_dir, ignore_errors=True)
    print(f"worker CPU per generate job, {args.jobs} jobs, one thread, no contention")
    for part, millis in per_job.items():
        print(f"  {part:<18} {millis:6.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
