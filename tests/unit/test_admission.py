"""Admission control of one worker: slots, a bounded queue served in order, and the shedding."""

from __future__ import annotations

import asyncio

from service.http.admission import Admission, KeyRate


def test_requests_beyond_the_slots_wait_in_order_and_get_the_slot_handed_over() -> None:
    async def scenario() -> list[str]:
        admission = Admission(max_in_flight=1, max_queue=2, queue_timeout_s=5)
        order: list[str] = []
        assert await admission.enter() is None  # the one slot
        first = asyncio.ensure_future(admission.enter())
        second = asyncio.ensure_future(admission.enter())
        await asyncio.sleep(0)  # let both join the queue
        assert len(admission.waiting) == 2
        first.add_done_callback(lambda _: order.append("first"))
        second.add_done_callback(lambda _: order.append("second"))
        admission.leave()  # hands the slot to the first waiter
        assert await first is None
        assert not second.done()
        admission.leave()
        assert await second is None
        admission.leave()
        assert admission.in_flight == 0 and not admission.waiting
        return order

    assert asyncio.run(scenario()) == ["first", "second"]


def test_a_full_queue_sheds_at_once_and_a_long_wait_sheds_after_the_timeout() -> None:
    async def scenario() -> tuple[str | None, str | None]:
        admission = Admission(max_in_flight=1, max_queue=1, queue_timeout_s=0.02)
        assert await admission.enter() is None
        waiter = asyncio.ensure_future(admission.enter())
        await asyncio.sleep(0)
        full = await admission.enter()  # the queue holds one: refused without waiting
        late = await waiter  # nobody leaves: its wait times out
        assert not admission.waiting and admission.in_flight == 1
        return full, late

    assert asyncio.run(scenario()) == ("queue-full", "queue-timeout")


def test_a_waiter_that_goes_away_leaves_the_queue_and_loses_no_slot() -> None:
    async def scenario() -> int:
        admission = Admission(max_in_flight=1, max_queue=4, queue_timeout_s=5)
        assert await admission.enter() is None
        gone = asyncio.ensure_future(admission.enter())
        stays = asyncio.ensure_future(admission.enter())
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
        assert len(admission.waiting) == 1
        admission.leave()
        assert await stays is None
        admission.leave()
        return admission.in_flight

    assert asyncio.run(scenario()) == 0


def test_a_key_over_its_rate_is_told_when_to_come_back() -> None:
    rate = KeyRate("3/minute")
    assert [rate.retry_after("erp") for _ in range(3)] == [None, None, None]
    wait = rate.retry_after("erp")
    assert wait is not None and 1 <= wait <= 60
    assert rate.retry_after("crm") is None  # another key has its own count
