"""How the decision log writer's thread is scheduled (Linux; elsewhere nothing changes): two policies,
each where it pays (issue 16).

**Its Python work under ``SCHED_BATCH``** (:func:`batch_scheduling`). The writer wakes up for every
group commit: when a request waits, when its linger passes. Under the default policy each wake-up
preempts whichever thread has the core, usually the event loop, which pays for every such switch in
user time (7–11 forced switches of the loop per 50 decisions, 5–7 % of its CPU). A ``SCHED_BATCH``
thread keeps its fair share of the CPU and its priority, but waits for the running thread's time slice
or its next pause instead of preempting it.

**Its ``fdatasync`` under the default policy** (:func:`fdatasync_promptly`). Inside that one system
call the thread blocks and is woken several times (on ext4: the data written, the journal committed,
the device flushed; four wake-ups per call), and every answer of the group commit waits for the last
one. Under ``SCHED_BATCH`` each of those wake-ups waited for a busy core's time slice: traced on the
whole machine under load (``bench/sync_trace.py``), a call took 0.65 ms at the median, of which the
disk 0.18 ms and waiting for a core 0.36 ms; under the default policy 0.39 ms, of which waiting 0.06
ms. The thread holds no GIL inside the call, so running it at once takes nothing from the event loop
but the switch. Two ``sched_setscheduler`` calls per group commit (half a microsecond each) buy that.

Only the calling thread is changed, never the process. A system that refuses a policy (a sandbox)
leaves the thread as it is: the writer works the same, only scheduled less well.
"""

from __future__ import annotations

import os

__all__ = ["batch_scheduling", "fdatasync_promptly"]

_BATCH = getattr(os, "SCHED_BATCH", None)
_DEFAULT = getattr(os, "SCHED_OTHER", None)


def _switch(policy: int) -> bool:
    try:
        os.sched_setscheduler(0, policy, os.sched_param(0))  # 0: the calling thread (Linux)
    except OSError:
        return False
    return True


def batch_scheduling() -> bool:
    """Put the calling thread under ``SCHED_BATCH``; False where there is none or it is refused."""
    return _BATCH is not None and _switch(_BATCH)


def fdatasync_promptly(fd: int, batch: bool) -> None:
    """``os.fdatasync(fd)``, run under the default policy when the thread is ``batch`` scheduled and
    back under ``SCHED_BATCH`` afterwards (an exception of the call passes through unchanged)."""
    if not batch or _BATCH is None or _DEFAULT is None or not _switch(_DEFAULT):
        os.fdatasync(fd)
        return
    try:
        os.fdatasync(fd)
    finally:
        _switch(_BATCH)
