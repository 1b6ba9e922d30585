"""Keep a running job's lease fresh while its worker is alive."""

from __future__ import annotations

import contextvars
import threading
import uuid
from types import TracebackType

from engine import jobs
from engine.db import session_scope
from engine.logging import get_logger

log = get_logger(__name__)


class LeaseHeartbeat:
    """Renew one job attempt's lease from a daemon thread.

    Use as a context manager around the slow work. ``lost`` turns true when a
    renewal is refused: the job was cancelled, timed out or claimed again by
    another worker, and this worker's result will be refused too.
    """

    def __init__(self, job_id: uuid.UUID, attempt: int, interval: float) -> None:
        self.job_id = job_id
        self.attempt = attempt
        self.interval = interval
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def __enter__(self) -> LeaseHeartbeat:
        # Run in a copy of this context so renewal logs carry the job id.
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run,
            args=(self._beat,),
            name=f"lease-{self.job_id}",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with session_scope() as session:
                    owned = jobs.renew_lease(session, self.job_id, self.attempt)
            except Exception:
                # One failed renewal is survivable: the lease outlives several
                # intervals. Log it and try again on the next beat.
                log.warning("lease_renewal_failed", attempt=self.attempt)
                continue
            if not owned:
                self._lost.set()
                log.warning("lease_lost", attempt=self.attempt)
                return
