"""parse_json tells a clean body by counting bytes; it must refuse exactly what the walk refuses:
a key given twice, an integer beyond 64 bits, nesting past MAX_DEPTH (service/api/jsonbody.py)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.api.jsonbody import MAX_DEPTH, _checked, parse_json
from service.http.errors import ApiError

KEYS = st.sampled_from(["a", "b", "amount", "vendor", "é", 'q"uote', "x:y", "1"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**65), max_value=2**65)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "IT", 'say "hi"', "a\\b", "€", '":', "{[", "1234567890123456789012"])
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """JSON text as a client might write it: spacing of its own, at times a key twice."""

    def value(depth: int) -> str:
        kind = draw(st.integers(0, 3 if depth < 4 else 0))
        if kind == 0:
            return json.dumps(draw(SCALARS))
        if kind == 1:
            return "[" + ",".join(value(depth + 1) for _ in range(draw(st.integers(0, 3)))) + "]"
        pairs = [(draw(KEYS), value(depth + 1)) for _ in range(draw(st.integers(0, 4)))]
        colon = draw(st.sampled_from([":", ": ", " :", " : ", ":\n"]))
        return "{" + ", ".join(f"{json.dumps(k)}{colon}{v}" for k, v in pairs) + "}"

    return value(0).encode()


def _outcome(call: Any, raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", call(raw)
    except ApiError as exc:
        return "refused", exc.message


def _walked(raw: bytes) -> Any:
    return _checked(raw, orjson.loads(raw))


@settings(max_examples=400, deadline=None)
@given(bodies())
def test_the_byte_count_refuses_what_the_walk_refuses(raw: bytes) -> None:
    assert _outcome(parse_json, raw) == _outcome(_walked, raw)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b'{"amount": 1, "amount": 2}', "has the key 'amount' twice in one object"),
        (b'{"a": {"b": 1, "c": "x", "b": 3}}', "has the key 'b' twice"),
        (b'{"a" :1, "a":2}', "has the key 'a' twice"),
        (b'{"n": 9223372036854775808}', "outside the 64-bit range"),
        (b'{"n": -9223372036854775809}', "outside the 64-bit range"),
        (b'{"n": 18446744073709551616}', "outside the 64-bit range"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "nested more than"),
        (b"", "is empty"),
        (b"\xef\xbb\xbf{}", "byte order mark"),
        ('{"a": 1}'.encode("utf-16-le"), "UTF-16"),
    ],
)
def test_hostile_bodies_are_refused_by_name(raw: bytes, problem: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse_json(raw)
    assert problem in refused.value.message


def test_a_clean_body_is_its_data() -> None:
    raw = b'{"amount": 9223372036854775807, "vendor": {"risk": "low"}, "tags": ["a", "b"]}'
    assert parse_json(raw) == {
        "amount": 2**63 - 1,
        "vendor": {"risk": "low"},
        "tags": ["a", "b"],
    }
