"""The bench splits a request's CPU by thread: a worker thread's work is counted to the other
threads, not to the main thread (a worker's event loop), and in full."""

from __future__ import annotations

import os
import threading
import time

from bench.cputime import main_and_others, process_seconds, thread_seconds

WORK_SECONDS = 0.2


def _work() -> None:
    end = time.thread_time() + WORK_SECONDS
    while time.thread_time() < end:
        pass


def test_a_threads_work_counts_to_the_other_threads_not_the_main_one() -> None:
    pid = os.getpid()
    main_before, others_before = main_and_others(pid)
    finished = threading.Event()
    measured: list[float] = []

    def worker() -> None:
        assert threading.get_native_id() != pid
        began = thread_seconds(pid, threading.get_native_id())
        _work()
        measured.append(thread_seconds(pid, threading.get_native_id()) - began)
        finished.wait(10)  # alive while the main thread reads the split

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        while not measured:
            time.sleep(0.01)
        main_after, others_after = main_and_others(pid)
    finally:
        finished.set()
        thread.join(10)
    assert measured[0] >= WORK_SECONDS * 0.95  # schedstat counts all the thread's run time
    assert others_after - others_before >= WORK_SECONDS * 0.95
    assert main_after - main_before < WORK_SECONDS  # the main thread mostly slept


def test_a_process_total_includes_its_threads() -> None:
    before = process_seconds(os.getpid())
    thread = threading.Thread(target=_work)
    thread.start()
    thread.join(10)
    # in clock ticks (10 ms here), so allow a tick either side
    assert process_seconds(os.getpid()) - before >= WORK_SECONDS - 0.02
