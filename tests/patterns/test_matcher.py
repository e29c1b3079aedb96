"""The multi-rule Matcher's own behaviour: replacing and removing rules, its indexes, and agreement with
single-pattern matching on rule sets that exercise every index at once."""

from __future__ import annotations

import random

import pytest

from pipework.patterns import InvalidEventError, InvalidPatternError, Matcher, compile_pattern


def test_add_replaces_a_rule_with_the_same_name():
    m = Matcher()
    m.add("r", {"source": ["a"]})
    m.add("r", {"source": ["b"]})
    assert m.match({"source": "a"}) == []
    assert m.match({"source": "b"}) == ["r"]
    assert len(m) == 1


def test_remove_forgets_the_rule_and_its_paths():
    m = Matcher()
    m.add("r1", {"detail": {"x": [{"numeric": [">", 1]}]}})
    m.add("r2", {"detail": {"x": [{"numeric": ["<", 10]}]}})
    assert m.match({"detail": {"x": 5}}) == ["r1", "r2"]
    m.remove("r1")
    assert m.match({"detail": {"x": 5}}) == ["r2"]
    m.remove("r2")
    m.remove("never-added")
    assert m.match({"detail": {"x": 5}}) == []
    assert m._trie.root.children == {}


def test_invalid_pattern_leaves_the_matcher_unchanged():
    m = Matcher()
    m.add("r", {"source": ["a"]})
    with pytest.raises(InvalidPatternError):
        m.add("r", {"source": "a"})
    assert m.match({"source": "a"}) == ["r"]


def test_match_returns_each_rule_once_even_when_several_or_branches_match():
    m = Matcher()
    m.add("r", {"$or": [{"a": ["1"]}, {"b": ["2"]}]})
    assert m.match({"a": "1", "b": "2"}) == ["r"]


def test_match_rejects_text_that_is_not_json():
    with pytest.raises(InvalidEventError):
        Matcher().match("{not json")


def test_non_object_events_match_nothing():
    m = Matcher()
    m.add("r", {"a": [{"exists": False}]})
    assert m.match("[1, 2]") == []
    assert m.match({}) == ["r"]


def test_subrule_with_only_exists_false_fields_is_checked_on_every_event():
    m = Matcher()
    m.add("absent", {"a": [{"exists": False}], "b": [{"exists": False}]})
    assert m.match({"c": 1}) == ["absent"]
    assert m.match({"a": 1}) == []


def test_numeric_interval_table_handles_overlaps_points_and_open_bounds():
    m = Matcher()
    m.add("lt5", {"n": [{"numeric": ["<", 5]}]})
    m.add("le5", {"n": [{"numeric": ["<=", 5]}]})
    m.add("eq5", {"n": [{"numeric": ["=", 5]}]})
    m.add("gt0le10", {"n": [{"numeric": [">", 0, "<=", 10]}]})
    m.add("ge10", {"n": [{"numeric": [">=", 10]}]})
    assert m.match({"n": -1}) == ["le5", "lt5"]
    assert m.match({"n": 0}) == ["le5", "lt5"]
    assert m.match({"n": 5}) == ["eq5", "gt0le10", "le5"]
    assert m.match({"n": 5.0000001}) == ["gt0le10"]
    assert m.match({"n": 10}) == ["ge10", "gt0le10"]
    assert m.match({"n": 1e300}) == ["ge10"]
    m.remove("gt0le10")
    assert m.match({"n": 7}) == []


def test_key_field_is_verified_with_the_other_fields():
    m = Matcher()
    m.add("r", {"source": ["s"], "detail": {"state": [{"anything-but": "off"}]}})
    assert m.match({"source": "s", "detail": {"state": "on"}}) == ["r"]
    assert m.match({"source": "s", "detail": {"state": "off"}}) == []
    assert m.match({"source": "t", "detail": {"state": "on"}}) == []


# Templates over every operator; each is instantiated with values drawn from a small alphabet so matches happen.
_WORDS = ["ab", "abc", "b", "ba", "ABC", "a.b", "10.0.0.1", "::1", ""]
_NUMBERS = [0, 1, 2.5, -3, 300, 1e3]


def _random_condition(rng: random.Random):
    kind = rng.randrange(12)
    word = rng.choice(_WORDS)
    if kind == 0:
        return word
    if kind == 1:
        return rng.choice(_NUMBERS)
    if kind == 2:
        return {"prefix": word} if rng.random() < 0.5 else {"prefix": {"equals-ignore-case": word}}
    if kind == 3:
        return {"suffix": word} if rng.random() < 0.5 else {"suffix": {"equals-ignore-case": word}}
    if kind == 4:
        return {"equals-ignore-case": word}
    if kind == 5:
        return {"wildcard": rng.choice(["a*", "*b", "a*c", "*", "*b*", "ab"])}
    if kind == 6:
        return {"anything-but": rng.choice([word, [word, "b"], 1, [1, 2]])}
    if kind == 7:
        lo = rng.choice(_NUMBERS)
        return {"numeric": [">=", lo, "<", lo + 5]} if rng.random() < 0.5 else {"numeric": ["=", lo]}
    if kind == 8:
        return {"exists": rng.random() < 0.5}
    if kind == 9:
        return {"cidr": rng.choice(["10.0.0.0/8", "::/120"])}
    if kind == 10:
        return rng.choice([None, True, False])
    return {"anything-but": {rng.choice(["prefix", "suffix", "wildcard"]): rng.choice(["a", "b*", "c"])}}


def _random_pattern(rng: random.Random):
    pattern: dict = {}
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(["a", "b", "c.d", "c.e"])
        values = [_random_condition(rng) for _ in range(rng.randint(1, 2))]
        node = pattern
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = values
    if rng.random() < 0.2:
        pattern = {"$or": [pattern, {"b": [_random_condition(rng)]}]}
    return pattern


def _random_value(rng: random.Random):
    return rng.choice([*_WORDS, *_NUMBERS, None, True, False])


def _random_event(rng: random.Random):
    def leaf():
        return (
            [_random_value(rng) for _ in range(rng.randint(0, 3))]
            if rng.random() < 0.2
            else _random_value(rng)
        )

    event: dict = {}
    for key in ("a", "b"):
        if rng.random() < 0.8:
            event[key] = leaf()
    shape = rng.randrange(4)
    if shape == 1:
        event["c"] = {"d": leaf(), "e": leaf()}
    elif shape == 2:
        event["c"] = [{"d": leaf(), "e": leaf()} for _ in range(rng.randint(1, 3))]
    elif shape == 3:
        event["c.d"] = leaf()
    return event


def test_matcher_agrees_with_single_patterns_on_a_large_mixed_rule_set():
    rng = random.Random(7)
    m = Matcher()
    rules = {}
    while len(rules) < 400:
        pattern = _random_pattern(rng)
        try:
            compiled = compile_pattern(pattern)
        except InvalidPatternError:
            continue
        name = f"r{len(rules)}"
        rules[name] = compiled
        m.add(name, pattern)
    for name in list(rules)[::3]:
        m.remove(name)
        del rules[name]
    total = 0
    for _ in range(1500):
        event = _random_event(rng)
        expected = sorted(name for name, p in rules.items() if p.matches(event))
        assert m.match(event) == expected, event
        total += len(expected)
    assert total > 1000  # the generator really produces matches
