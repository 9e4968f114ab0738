"""What a refused form keeps of what was typed, for the case page to show it again."""

from __future__ import annotations

from service.web import flash


def test_typed_values_fit_the_session_cookie_whatever_their_script() -> None:
    # 2,000 characters of Cyrillic are 4,000 bytes: kept whole, the cookie would pass 4 KB and
    # the browser would drop it, and the message with it
    kept = flash._kept({"csrf": "token", "reason": "д" * 2000, "action": "approve-payment"})
    assert "csrf" not in kept
    assert sum(len(v.encode()) for v in kept.values()) <= flash.VALUES_BYTES
    assert kept["action"] == "approve-payment"  # the choice is kept whole
    left = flash.VALUES_BYTES - len("approve-payment")
    assert kept["reason"] == "д" * (left // 2)  # the text cut between characters


def test_short_values_are_kept_as_typed() -> None:
    typed = {"reason": "looks fine", "action": "request-documents"}
    assert flash._kept(typed) == typed
