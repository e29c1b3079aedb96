"""Property tests: the multi-rule Matcher agrees with single-pattern matching, and no input makes the pattern
library raise anything but its own errors (InvalidPatternError for patterns, InvalidEventError for events)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipework.patterns import InvalidEventError, InvalidPatternError, Matcher, compile_pattern

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Small alphabets, so that random patterns and random events actually meet.
WORDS = st.sampled_from(
    ["", "a", "ab", "abc", "B", "bA", "a*b", "x.y", "10.0.0.1", "::1", "2001:db8::5", "İ", "é"]
)
NUMBERS = st.sampled_from([0, 1, -1, 2.5, 300, 300.0, 3e2, 1e9, -0.0, 10])
LEAVES = st.one_of(WORDS, NUMBERS, st.sampled_from([None, True, False]))
KEYS = st.sampled_from(["a", "b", "c", "d"])

GLOBS = st.sampled_from(["*", "a*", "*b", "a*b", "*a*", "ab", "", "a\\*b", "*.*", "1*0*1"])
CIDRS = st.sampled_from(["10.0.0.0/8", "10.0.0.1/32", "0.0.0.0/0", "::/0", "2001:db8::/32", "::1/128"])


def _strings(values: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.one_of(values, st.lists(values, min_size=1, max_size=3))


CONDITIONS = st.one_of(
    LEAVES,
    st.builds(lambda w: {"prefix": w}, WORDS),
    st.builds(lambda w: {"suffix": w}, WORDS),
    st.builds(lambda w: {"prefix": {"equals-ignore-case": w}}, WORDS),
    st.builds(lambda w: {"suffix": {"equals-ignore-case": w}}, WORDS),
    st.builds(lambda w: {"equals-ignore-case": w}, WORDS),
    st.builds(lambda g: {"wildcard": g}, GLOBS),
    st.builds(
        lambda v: {"anything-but": v},
        st.one_of(
            WORDS, NUMBERS, st.lists(WORDS, min_size=1, max_size=3), st.lists(NUMBERS, min_size=1, max_size=3)
        ),
    ),
    st.builds(lambda v: {"anything-but": {"prefix": v}}, _strings(WORDS)),
    st.builds(lambda v: {"anything-but": {"suffix": v}}, _strings(WORDS)),
    st.builds(lambda v: {"anything-but": {"equals-ignore-case": v}}, _strings(WORDS)),
    st.builds(lambda v: {"anything-but": {"wildcard": v}}, _strings(GLOBS)),
    st.builds(
        lambda lo, width: {"numeric": [">=", lo, "<", lo + width]}, NUMBERS, st.sampled_from([0.5, 5, 1e9])
    ),
    st.builds(lambda op, n: {"numeric": [op, n]}, st.sampled_from(["<", "<=", "=", ">", ">="]), NUMBERS),
    st.builds(lambda b: {"exists": b}, st.booleans()),
    st.builds(lambda c: {"cidr": c}, CIDRS),
)


def _pattern_objects(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    leaf = st.lists(CONDITIONS, min_size=1, max_size=3)
    if depth == 0:
        value: st.SearchStrategy[Any] = leaf
    else:
        value = st.one_of(leaf, leaf, leaf, _pattern_objects(depth - 1))
    keys = st.one_of(KEYS, KEYS, st.sampled_from(["a.b", "c.d"]))
    plain = st.dictionaries(keys, value, min_size=1, max_size=2)
    if depth == 0:
        return plain
    with_or = st.builds(
        lambda base, alternatives: {**base, "$or": alternatives},
        st.dictionaries(keys, value, max_size=2),
        st.lists(_pattern_objects(depth - 1), min_size=2, max_size=3),
    )
    return st.one_of(plain, plain, with_or)


PATTERNS = _pattern_objects(2)


def _event_values(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return st.one_of(LEAVES, st.lists(LEAVES, max_size=3))
    inner = _event_values(depth - 1)
    objects = st.dictionaries(st.one_of(KEYS, st.just("b.c")), inner, max_size=4)
    return st.one_of(LEAVES, st.lists(st.one_of(LEAVES, objects), max_size=3), objects)


EVENTS = st.dictionaries(
    st.one_of(KEYS, KEYS, st.sampled_from(["a.b", "c.d"])), _event_values(2), min_size=2, max_size=5
)


@FAST
@given(patterns=st.lists(PATTERNS, min_size=1, max_size=8), events=st.lists(EVENTS, min_size=1, max_size=8))
def test_matcher_agrees_with_compile_pattern_for_every_rule(patterns, events):
    matcher = Matcher()
    compiled = {}
    for i, pattern in enumerate(patterns):
        try:
            compiled[f"r{i}"] = compile_pattern(pattern)
        except InvalidPatternError:
            continue
        matcher.add(f"r{i}", pattern)
    for event in events:
        expected = sorted(name for name, p in compiled.items() if p.matches(event))
        assert matcher.match(event) == expected
        assert matcher.match(orjson.dumps(event)) == expected  # the same event as JSON text


@FAST
@given(patterns=st.lists(PATTERNS, min_size=2, max_size=6), event=EVENTS, data=st.data())
def test_removing_rules_keeps_the_matcher_in_agreement(patterns, event, data):
    matcher = Matcher()
    compiled = {}
    for i, pattern in enumerate(patterns):
        try:
            compiled[f"r{i}"] = compile_pattern(pattern)
        except InvalidPatternError:
            continue
        matcher.add(f"r{i}", pattern)
    for name in data.draw(st.lists(st.sampled_from(sorted(compiled) or ["none"]), max_size=3)):
        matcher.remove(name)
        compiled.pop(name, None)
    assert matcher.match(event) == sorted(name for name, p in compiled.items() if p.matches(event))


# -- fuzzing: nothing but the library's own errors -----------------------------------------------------------------

JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=5), KEYS), children, max_size=4),
    ),
    max_leaves=20,
)
OPERATORS = st.sampled_from(
    [
        "prefix",
        "suffix",
        "equals-ignore-case",
        "wildcard",
        "anything-but",
        "numeric",
        "exists",
        "cidr",
        "$or",
        "exactly",
        "EXISTS",
    ]
)
OPERATOR_SHAPED = st.one_of(
    st.builds(lambda op, v: {"a": [{op: v}]}, OPERATORS, JSON),
    st.builds(lambda op, inner, v: {"a": [{op: {inner: v}}]}, OPERATORS, OPERATORS, JSON),
    st.builds(
        lambda op, values: {"a": [{op: values}]}, OPERATORS, st.lists(st.one_of(OPERATORS, JSON), max_size=5)
    ),
    st.builds(lambda v: {"$or": v}, JSON),
    st.builds(lambda v: {"a": {"$or": v}}, st.lists(st.one_of(JSON, PATTERNS), max_size=3)),
)


def _only_pattern_errors(pattern: Any) -> None:
    try:
        compile_pattern(pattern)
    except InvalidPatternError as err:
        assert str(err).startswith("Event pattern is not valid. Reason: ")


@FUZZ
@given(value=JSON)
def test_random_json_patterns_raise_only_invalid_pattern_error(value):
    _only_pattern_errors(value)
    _only_pattern_errors(json.dumps(value))
    _only_pattern_errors({"a": value})
    _only_pattern_errors({"a": [value]})


@FUZZ
@given(pattern=OPERATOR_SHAPED)
def test_operator_shaped_patterns_raise_only_invalid_pattern_error(pattern):
    _only_pattern_errors(pattern)
    _only_pattern_errors(json.dumps(pattern))


@FUZZ
@given(raw=st.one_of(st.binary(max_size=40), st.text(max_size=40)))
def test_random_bytes_and_text_raise_only_invalid_pattern_error(raw):
    _only_pattern_errors(raw)
    _only_pattern_errors(b"{" + (raw if isinstance(raw, bytes) else raw.encode()))


@FUZZ
@given(raw=st.one_of(st.binary(max_size=40), st.text(max_size=40), JSON.map(json.dumps)))
def test_random_events_raise_only_invalid_event_error(raw):
    matcher = Matcher()
    matcher.add("r", {"a": [{"exists": False}], "b": [{"prefix": ""}]})
    for check in (compile_pattern({"a": [{"anything-but": "x"}]}).matches, matcher.match):
        with contextlib.suppress(InvalidEventError):
            check(raw)


def test_deeply_nested_inputs_raise_only_the_library_errors():
    deep = "[" * 50_000 + "]" * 50_000
    _only_pattern_errors(deep)
    _only_pattern_errors('{"a":' + deep + "}")
    for event in (deep, '{"a":' + deep + "}"):
        with contextlib.suppress(InvalidEventError):
            compile_pattern({"a": ["x"]}).matches(event)
