"""The worker supervisor's health check, made to notice a dead worker at once.

With more than one worker, uvicorn's supervisor pings each worker every 0.5 s and waits for its pong up
to ``timeout_worker_healthcheck`` (30 s in serve, so a worker still loading bundles on a busy node is not
killed again and again). A worker that dies between a ping and its pong (``kill -9``, the OOM killer)
was waited for that whole limit: the supervisor holds both ends of the ping pipe, so the pipe never
reports the death, and for 30 s the other workers carried all the load. Here the check waits for the
pong *or* the worker's exit, whichever comes first. ``install`` is called by ``serve`` only.
"""

from __future__ import annotations

import pickle
from multiprocessing.connection import wait

import uvicorn.supervisors.multiprocess as uvicorn_multiprocess

__all__ = ["WatchedWorker", "install"]


class WatchedWorker(uvicorn_multiprocess.Process):
    """uvicorn's supervised worker process, with a health check that also returns when the worker dies."""

    def _healthcheck(self, timeout: float) -> bool | None:
        """The worker's startup flag, or None when it died or did not answer within ``timeout``."""
        try:
            self.parent_conn.send(b"ping")
            if self.parent_conn in wait([self.parent_conn, self.process.sentinel], timeout):
                started: bool = self.parent_conn.recv()
                return started
            return None
        except (OSError, EOFError, pickle.UnpicklingError):
            return None


def install() -> None:
    """Make uvicorn's supervisor start every worker (the first ones and replacements) as a WatchedWorker."""
    uvicorn_multiprocess.Process = WatchedWorker  # type: ignore[misc]
