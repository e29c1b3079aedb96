"""`mismatched_fields`: which fields of a pattern an event fails, for the console's pattern test."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipework.patterns import InvalidEventError, InvalidPatternError, compile_pattern, mismatched_fields

CASES = [
    ("matching_event_has_no_mismatched_field", {"source": ["a"]}, {"source": "a"}, []),
    ("wrong_value", {"source": ["a"]}, {"source": "b"}, ["source"]),
    ("missing_field", {"source": ["a"]}, {}, ["source"]),
    (
        "nested_field_is_named_by_its_path",
        {"source": ["a"], "detail": {"x": [{"numeric": [">", 3]}], "y": ["b"]}},
        {"source": "a", "detail": {"x": 1, "y": "b"}},
        ["detail.x"],
    ),
    (
        "every_failing_field_in_pattern_order",
        {"source": ["a"], "detail-type": ["T"], "detail": {"y": ["b"]}},
        {"source": "z", "detail-type": "U", "detail": {"y": "b"}},
        ["source", "detail-type"],
    ),
    ("or_with_no_matching_branch", {"$or": [{"a": [1]}, {"b": [2]}]}, {"a": 2}, ["$or"]),
    ("nested_or", {"detail": {"$or": [{"a": [1]}, {"b": [2]}]}}, {"detail": {"b": 3}}, ["detail.$or"]),
    ("exists_false", {"detail": {"x": [{"exists": False}]}}, {"detail": {"x": 1}}, ["detail.x"]),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_mismatched_fields(pattern: dict[str, Any], event: dict[str, Any], expected: list[str]) -> None:
    assert mismatched_fields(pattern, event) == expected


def test_text_pattern_and_event_are_parsed_and_bad_ones_rejected() -> None:
    assert mismatched_fields('{"source": ["a"]}', '{"source": "b"}') == ["source"]
    with pytest.raises(InvalidPatternError):
        mismatched_fields('{"source": "a"}', "{}")
    with pytest.raises(InvalidEventError):
        mismatched_fields('{"source": ["a"]}', "{not json")


values = st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b"]))


@settings(max_examples=200, deadline=None)
@given(
    pattern=st.dictionaries(
        st.sampled_from(["p", "q", "r"]), st.lists(values, min_size=1, max_size=2), min_size=1
    ),
    event=st.dictionaries(st.sampled_from(["p", "q", "r", "s"]), values),
)
def test_no_mismatched_field_exactly_when_the_pattern_matches(
    pattern: dict[str, Any], event: dict[str, Any]
) -> None:
    failing = mismatched_fields(pattern, event)
    assert (failing == []) == compile_pattern(pattern).matches(event)
    # Each named field fails on its own, and the fields not named all match.
    for field in pattern:
        assert (field in failing) == (not compile_pattern({field: pattern[field]}).matches(event))
