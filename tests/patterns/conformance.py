"""Helpers for the table-driven conformance cases: one row per behaviour, named after it.

``match(id, pattern, event)`` and ``no_match(...)`` are checked through `compile_pattern(...).matches` and through
a one-rule `Matcher`; ``invalid(id, pattern, reason)`` expects AWS's exact message for ``reason``. Patterns and
events may be given as dicts or as JSON text (text is how 3e2 or duplicate keys reach the parser).
"""

from __future__ import annotations

from typing import Any

import pytest

from pipework.patterns import InvalidPatternError, Matcher, compile_pattern

PREFIX = "Event pattern is not valid. Reason: "


def match(case_id: str, pattern: Any, event: Any) -> Any:
    return pytest.param(pattern, event, True, id=case_id)


def no_match(case_id: str, pattern: Any, event: Any) -> Any:
    return pytest.param(pattern, event, False, id=case_id)


def invalid(case_id: str, pattern: Any, reason: str) -> Any:
    return pytest.param(pattern, reason, id=case_id)


def check_match(pattern: Any, event: Any, expected: bool) -> None:
    assert compile_pattern(pattern).matches(event) is expected
    matcher = Matcher()
    matcher.add("rule", pattern)
    assert matcher.match(event) == (["rule"] if expected else [])


def check_invalid(pattern: Any, reason: str) -> None:
    with pytest.raises(InvalidPatternError) as caught:
        compile_pattern(pattern)
    assert str(caught.value) == PREFIX + reason
    assert caught.value.reason == reason
    with pytest.raises(InvalidPatternError):
        Matcher().add("rule", pattern)
