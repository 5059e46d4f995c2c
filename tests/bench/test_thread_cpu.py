"""bench.thread_cpu reads every thread's CPU time of a process from /proc (issue 16)."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from bench.thread_cpu import thread_cpu

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_a_busy_thread_is_counted_apart_from_the_others() -> None:
    done = threading.Event()
    ids: list[int] = []

    def spin() -> None:
        ids.append(threading.get_native_id())
        end = time.thread_time() + 0.2
        while time.thread_time() < end:
            pass
        done.wait(5)

    worker = threading.Thread(target=spin)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (ids and thread_cpu(os.getpid()).get(ids[0], 0.0) >= 0.15):
            time.sleep(0.02)
        spent = thread_cpu(os.getpid())
    finally:
        done.set()
        worker.join()
    assert os.getpid() in spent  # the main thread
    assert spent[ids[0]] >= 0.15  # the spinning thread's own 0.2 s (clock ticks of 10 ms)
