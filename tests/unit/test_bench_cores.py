"""The overload bench keeps its clients and the service on cores of their own: every thread of
the service's process group pinned, threads started later too."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.cores import pin_group, split_cores

CHILD = """
import sys, threading
stop = threading.Event()
threading.Thread(target=stop.wait, daemon=True).start()
print("started", flush=True)
sys.stdin.readline()  # pinned meanwhile
threading.Thread(target=stop.wait, daemon=True).start()
import os
print(sorted({frozenset(os.sched_getaffinity(int(t))) for t in os.listdir("/proc/self/task")},
             key=sorted), flush=True)
"""


def test_the_cores_are_split_in_two_halves_the_clients_first() -> None:
    split = split_cores()
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        assert split is None
        return
    assert split is not None
    clients, service = split
    assert clients and service and not clients & service
    assert sorted(clients | service) == cores and max(clients) < min(service)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: nothing to pin apart")
def test_every_thread_of_the_group_keeps_to_the_cores_given_and_later_ones_too() -> None:
    one = {max(os.sched_getaffinity(0))}
    with subprocess.Popen(
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, start_new_session=True,
    ) as child:  # fmt: skip
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "started"
        assert pin_group(child.pid, one) >= 2  # the main thread and the one started before
        child.stdin.write("go\n")
        child.stdin.flush()
        seen = child.stdout.readline().strip()
        child.kill()
    assert seen == repr([frozenset(one)])  # one mask for all, the later thread's included
