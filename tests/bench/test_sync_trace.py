"""bench.sync_trace splits each fdatasync of a tracefs capture into blocked, waiting for a core and on a core."""

from __future__ import annotations

import pytest

from bench.sync_trace import split_calls

# One call of thread 42: 0.1 ms on a core, blocked 0.5 ms, woken, 0.3 ms waiting for a core, 0.1 ms on a
# core, then it returns; another thread's switches and a wake-up of an uninvolved thread in between.
TRACE = """\
          python-42      [001] .....   10.000000: sys_fdatasync(fd: 0x1c)
          python-42      [001] d..2.   10.000100: sched_switch: prev_comm=python prev_pid=42 prev_prio=120 \
prev_state=D ==> next_comm=python next_pid=7 next_prio=120
          python-7       [001] d..2.   10.000200: sched_wakeup: comm=python pid=99 prio=120 target_cpu=000
          python-7       [001] d.s4.   10.000600: sched_wakeup: comm=python pid=42 prio=120 target_cpu=001
          python-7       [001] d..2.   10.000900: sched_switch: prev_comm=python prev_pid=7 prev_prio=120 \
prev_state=R+ ==> next_comm=python next_pid=42 next_prio=120
          python-42      [001] .....   10.001000: sys_fdatasync -> 0x0
"""


def test_one_call_is_split_into_its_parts() -> None:
    calls = split_calls(TRACE.splitlines())
    assert calls["total"] == [pytest.approx(0.001)]
    assert calls["oncpu"] == [pytest.approx(0.0002)]
    assert calls["blocked"] == [pytest.approx(0.0005)]
    assert calls["runnable"] == [pytest.approx(0.0003)]
    assert calls["blocks"] == [1]


def test_a_call_without_its_start_is_not_counted() -> None:
    assert not split_calls(TRACE.splitlines()[1:])["total"]
