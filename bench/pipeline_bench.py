"""Generation jobs through the whole service, against a fake LLM with a fixed latency.

    python -m bench.pipeline_bench [--jobs 200] [--latency 0.5] [--rate 5]

Everything is real except the model: the API under gunicorn, one Celery worker
process started as ``pineforge worker`` starts it (threads pool,
``PINEFORGE_GENERATE_CONCURRENCY`` threads, both queues), the real pipeline,
PostgreSQL and Redis (a scratch database and Redis db, see ``bench/stack.py``).
The model is ``tests/fakes/llm_server.py``, reached over HTTP through the
OpenAI SDK: it answers every call after ``--latency`` seconds and counts the
calls it holds at once. Every request is distinct, so the result cache never
hits; the jobs go round ``--users`` users on the admin plan, so credits never
run out and no user reaches the plan's running-jobs limit.

Two phases of ``--jobs`` jobs each. *Steady*: jobs submitted at ``--rate`` per
second, a pace the stack keeps up with; prints the end-to-end time (job row
created -> succeeded, from the database's timestamps) minus the fake latency.
*Backlog*: the worker stops taking generation jobs, the jobs are submitted,
then it is let loose on the full queue; prints jobs/s and the most LLM calls
in flight at once. Also printed: the round trip of a no-op task on the same
broker and worker, and the CPU time each job costs the worker and the API.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from bench.measure import (
    Phase,
    backlog_lines,
    measure_noop,
    set_generate_consumer,
    spread,
    steady_lines,
    submit_jobs,
    wait_for_jobs,
)
from bench.stack import (
    Scratch,
    create_scratch,
    drop_scratch,
    free_port,
    group_cpu_seconds,
    scratch_services,
    start_process,
    stop_process,
    wait_for_http,
)
from tests.fakes.llm_server import FakeLLMServer

#: Lines of each service's log shown when the bench fails.
LOG_TAIL = 30


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline_bench", description=__doc__.splitlines()[0]
    )
    add = parser.add_argument
    add("--jobs", type=int, default=200, help="jobs per phase (default 200)")
    add("--latency", type=float, default=0.5, help="fake LLM seconds per call")
    add("--rate", type=float, default=5.0, help="steady phase: jobs submitted/s")
    add("--concurrency", type=int, default=64, help="worker threads (default 64)")
    add("--clients", type=int, default=16, help="HTTP clients submitting jobs")
    add("--users", type=int, default=16, help="admin-plan users the jobs go round")
    add("--api-workers", type=int, default=2, help="gunicorn worker processes")
    add("--warmup", type=int, default=10, help="jobs run first, not measured")
    add("--noops", type=int, default=200, help="no-op task round trips")
    add("--timeout", type=float, default=300.0, help="seconds a phase may take")
    add("--database", default="pineforge_bench", help="scratch database name")
    add("--redis-db", type=int, default=12, help="scratch Redis db number")
    add("--log-level", default="INFO", help="log level of the API and the worker")
    add("--keep-logs", action="store_true", help="keep the services' logs")
    return parser.parse_args(argv)


def bench_environment(
    args: argparse.Namespace, scratch: Scratch, var_dir: Path, fake: FakeLLMServer
) -> dict[str, str]:
    """Settings shared by this process, the API and the worker."""
    return {
        **pipeline_environment(scratch, var_dir, fake, args.log_level),
        "PINEFORGE_BROKER_KEY_PREFIX": "",
        "PINEFORGE_GENERATE_CONCURRENCY": str(args.concurrency),
    }


def pipeline_environment(
    scratch: Scratch, var_dir: Path, fake: FakeLLMServer, log_level: str
) -> dict[str, str]:
    """Scratch services, and the fake server as the only provider."""
    return {
        "PINEFORGE_ENV": "development",
        "DATABASE_URL": scratch.database_url,
        "REDIS_URL": scratch.redis_url,
        "PINEFORGE_VAR_DIR": str(var_dir),
        "PINEFORGE_LOG_LEVEL": log_level,
        "PINEFORGE_LLM_PROVIDERS": "openai_compatible",
        "PINEFORGE_OPENAI_COMPATIBLE__BASE_URL": fake.openai_url,
        "PINEFORGE_LLM_OFFLINE_FALLBACK": "false",
    }


def start_services(args: argparse.Namespace, var_dir: Path, processes: list) -> str:
    """Start the API (gunicorn) and the worker into ``processes``; return the API URL.

    The worker is started as ``pineforge worker`` would start it, plus the
    module of the no-op task.
    """
    from cli.services import gunicorn_argv, worker_argv
    from engine.settings import get_settings

    settings = get_settings()
    port = free_port()
    api_argv = gunicorn_argv(settings, "127.0.0.1", port, args.api_workers)
    processes.append(start_process(api_argv, var_dir / "api.log"))
    worker_args = [*worker_argv(settings, None, None, False), "--include", "bench.noop"]
    processes.append(start_process(worker_args, var_dir / "worker.log"))
    api_url = f"http://127.0.0.1:{port}/api/v1"
    wait_for_http(f"{api_url}/health", processes[0])
    return api_url


def admin_tokens(scratch: Scratch, count: int) -> list[str]:
    """Bearer tokens of ``count`` fresh admin-plan users."""
    from sqlalchemy.orm import Session

    from engine.db import User, make_engine
    from web.auth import issue_access_token

    engine = make_engine(scratch.database_url)
    tokens = []
    with Session(engine) as session:
        for number in range(count):
            user = User(email=f"bench{number}@example.com", plan="admin")
            session.add(user)
            session.flush()
            tokens.append(issue_access_token(session, user, "bench")[0])
        session.commit()
    engine.dispose()
    return tokens


def run_phase(args, api_url, tokens, scratch, fake, name, rate) -> Phase:
    """Submit one phase's jobs and wait until all have finished.

    A backlog phase (``rate`` 0) queues every job before the worker may take any.
    """
    phase = Phase(name)
    backlog = not rate
    if backlog:
        set_generate_consumer(False)
    fake.reset_peak()
    calls_before = fake.count()
    job_ids = submit_jobs(api_url, tokens, phase, args.jobs, rate, args.clients)
    if backlog:
        set_generate_consumer(True)
    phase.rows = wait_for_jobs(scratch.database_url, job_ids, args.timeout)
    phase.llm_calls = fake.count() - calls_before
    phase.max_in_flight = fake.max_in_flight
    return phase


def run(args, scratch: Scratch, var_dir: Path, fake: FakeLLMServer, processes):
    """Start the services, run both phases and return the printed report."""
    api_url = start_services(args, var_dir, processes)
    tokens = admin_tokens(scratch, args.users)
    noop = measure_noop(scratch.redis_url, args.noops)

    warmup = Phase("warm-up")
    warm_ids = submit_jobs(api_url, tokens, warmup, args.warmup, 0, args.clients)
    wait_for_jobs(scratch.database_url, warm_ids, args.timeout)

    cpu_before = [group_cpu_seconds(proc.pid) for proc in processes]
    steady = run_phase(args, api_url, tokens, scratch, fake, "steady", args.rate)
    backlog = run_phase(args, api_url, tokens, scratch, fake, "backlog", 0)
    cpu_after = [group_cpu_seconds(proc.pid) for proc in processes]
    cpu = [after - before for after, before in zip(cpu_after, cpu_before, strict=True)]
    api_ms, worker_ms = (1000 * seconds / (2 * args.jobs) for seconds in cpu)

    return "\n".join(
        [
            f"pipeline bench: fake LLM latency {args.latency * 1000:.0f} ms, one worker"
            f" process (threads pool, {args.concurrency} threads), gunicorn x"
            f"{args.api_workers}, {os.cpu_count()} CPUs",
            f"steady: {args.jobs} jobs submitted at {args.rate:g}/s",
            *steady_lines(steady, args.latency),
            f"backlog: {args.jobs} jobs queued, then released to the worker at once",
            *backlog_lines(backlog, args.latency),
            f"no-op task round trip (idle)     {spread(noop)}   ({len(noop)} in a row)",
            f"CPU per job                      worker {worker_ms:.1f} ms, API "
            f"{api_ms:.1f} ms  (one worker process tops out near "
            f"{1000 / worker_ms:.0f} jobs/s)",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scratch = scratch_services(args.database, args.redis_db)
    var_dir = Path(tempfile.mkdtemp(prefix="pineforge-bench-"))
    fake = FakeLLMServer(latency=args.latency).start()
    os.environ.update(bench_environment(args, scratch, var_dir, fake))
    processes: list = []
    try:
        create_scratch(scratch)
        print(run(args, scratch, var_dir, fake, processes), flush=True)
    except BaseException:
        for proc in processes:
            print(f"--- last lines of {proc.log_path.name}", flush=True)
            print(*proc.log_path.read_text().splitlines()[-LOG_TAIL:], sep="\n")
        raise
    finally:
        for proc in reversed(processes):
            stop_process(proc)
        fake.stop()
        drop_scratch(scratch)
        if args.keep_logs:
            print(f"logs kept in {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
