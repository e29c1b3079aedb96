"""Conformance: the shape of patterns — $or at any level and its 1000-combination limit, dotted keys in patterns
and events, duplicate keys, the size limit, and the structural errors with AWS's messages."""

from __future__ import annotations

import json

import pytest

from patterns.conformance import PREFIX, check_invalid, check_match, invalid, match, no_match
from pipework.patterns import InvalidPatternError, compile_pattern

COMBINATIONS = "The $or expression expands to more than 1000 combinations; simplify the pattern"
LENGTH = "Event pattern is longer than the limit of 4096 characters"


def _or_fields(fields: int, branches: int) -> dict:
    """``fields`` fields, each an ``$or`` of ``branches`` alternatives: branches ** fields combinations."""
    return {f"f{i}": {"$or": [{"v": [b]} for b in range(branches)]} for i in range(fields)}


OR = [
    match("or_first_branch", {"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"a": "1"}),
    match("or_second_branch", {"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"b": "2"}),
    no_match("or_no_branch", {"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"a": "2", "b": "1"}),
    match("or_with_a_sibling_field", {"s": ["x"], "$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"s": "x", "b": "2"}),
    no_match(
        "or_sibling_field_is_anded", {"s": ["x"], "$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"s": "y", "b": "2"}
    ),
    match(
        "or_inside_a_nested_object",
        {"detail": {"$or": [{"a": [1]}, {"b": [{"numeric": [">", 5]}]}]}},
        {"detail": {"b": 6}},
    ),
    no_match(
        "or_inside_nested_object_is_relative_to_it", {"detail": {"$or": [{"a": [1]}, {"b": [2]}]}}, {"a": 1}
    ),
    match("or_nested_in_or", {"$or": [{"a": ["1"]}, {"$or": [{"b": ["2"]}, {"c": ["3"]}]}]}, {"c": "3"}),
    match(
        "or_branches_with_several_fields",
        {"$or": [{"a": ["1"], "b": ["1"]}, {"a": ["2"], "b": ["2"]}]},
        {"a": "2", "b": "2"},
    ),
    no_match(
        "or_branch_fields_are_anded",
        {"$or": [{"a": ["1"], "b": ["1"]}, {"a": ["2"], "b": ["2"]}]},
        {"a": "1", "b": "2"},
    ),
    match("or_branches_with_exists_false", {"$or": [{"a": [{"exists": False}]}, {"a": ["x"]}]}, {"b": 1}),
    match(
        "or_two_ors_in_one_object_via_nesting",
        {"x": {"$or": [{"a": [1]}, {"b": [1]}]}, "y": {"$or": [{"a": [2]}, {"b": [2]}]}},
        {"x": {"b": 1}, "y": {"a": 2}},
    ),
    match("or_with_one_element_is_a_plain_field", {"$or": [{"prefix": "a"}, "x"]}, {"$or": "abc"}),
    match(
        "or_keyed_by_operators_is_a_plain_field", {"$or": [{"prefix": "a"}, {"suffix": "z"}]}, {"$or": "xyz"}
    ),
    match(
        "or_with_exactly_1000_combinations",
        _or_fields(3, 10),
        {"f0": {"v": 9}, "f1": {"v": 0}, "f2": {"v": 5}},
    ),
]

OR_INVALID = [
    invalid("or_with_more_than_1000_combinations", _or_fields(3, 11), COMBINATIONS),
    invalid("or_combinations_multiply_across_fields", _or_fields(10, 2), COMBINATIONS),
    invalid(
        "or_with_a_single_branch_is_a_field_of_match_expressions",
        {"$or": [{"a": ["1"]}]},
        "Unrecognized match type a",
    ),
    invalid("or_not_an_array", {"$or": "x"}, '"$or" must be an object or an array'),
    invalid(
        "or_branch_with_invalid_field",
        {"$or": [{"a": ["1"]}, {"b": "2"}]},
        '"b" must be an object or an array',
    ),
]

DOTTED = [
    match("dotted_pattern_key_matches_nested_event", {"detail.state": ["on"]}, {"detail": {"state": "on"}}),
    match("nested_pattern_matches_dotted_event_key", {"detail": {"state": ["on"]}}, {"detail.state": "on"}),
    match("dotted_pattern_key_matches_dotted_event_key", {"a.b": ["x"]}, {"a.b": "x"}),
    match("dotted_event_key_in_the_middle", {"a": {"b": {"c": [1]}}}, {"a.b": {"c": 1}}),
    match("dotted_pattern_key_inside_object", {"a": {"b.c": [1]}}, {"a": {"b": {"c": 1}}}),
    match("dotted_keys_and_arrays", {"a.b": ["x"]}, {"a": [{"b": "y"}, {"b": "x"}]}),
    no_match("dotted_key_other_value", {"a.b": ["x"]}, {"a": {"b": "y"}}),
    no_match("dotted_and_nested_same_path_are_anded", {"a.b": ["x"], "a": {"b": ["y"]}}, {"a": {"b": "x"}}),
    match(
        "dotted_and_nested_same_path_array_satisfies_both",
        {"a.b": ["x"], "a": {"b": ["y"]}},
        {"a": {"b": ["x", "y"]}},
    ),
]

DUPLICATES = [
    match("duplicate_key_last_one_wins", '{"a": ["x"], "a": ["y"]}', {"a": "y"}),
    no_match("duplicate_key_first_one_is_dropped", '{"a": ["x"], "a": ["y"]}', {"a": "x"}),
    match("duplicate_nested_key_last_one_wins", '{"d": {"a": ["x"]}, "d": {"b": ["y"]}}', {"d": {"b": "y"}}),
    match("duplicate_event_key_last_one_wins", {"a": ["y"]}, '{"a": "x", "a": "y"}'),
    match("duplicate_values_in_a_list", {"a": ["x", "x"]}, {"a": "x"}),
]

STRUCTURE_INVALID = [
    invalid("pattern_array_is_not_an_object", "[1]", "Filter is not an object"),
    invalid("pattern_string_is_not_an_object", '"source"', "Filter is not an object"),
    invalid("pattern_null_is_not_an_object", "null", "Filter is not an object"),
    invalid("pattern_number_is_not_an_object", "5", "Filter is not an object"),
    invalid("scalar_string_leaf", {"source": "aws.ec2"}, '"source" must be an object or an array'),
    invalid("scalar_number_leaf", {"detail": {"n": 5}}, '"n" must be an object or an array'),
    invalid("null_leaf", {"a": None}, '"a" must be an object or an array'),
    invalid("empty_array_leaf", {"a": []}, "Empty arrays are not allowed"),
    invalid("empty_object_pattern", {}, "Empty objects are not allowed"),
    invalid("empty_nested_object", {"a": {}}, "Empty objects are not allowed"),
    invalid(
        "array_inside_match_list", {"a": [["x"]]}, "Match value must be String, number, true, false, or null"
    ),
    invalid("empty_match_expression", {"a": [{}]}, "Match expression name not found"),
    invalid("unknown_operator", {"a": [{"contains": "x"}]}, "Unrecognized match type contains"),
    invalid("operator_names_are_case_sensitive", {"a": [{"Prefix": "x"}]}, "Unrecognized match type Prefix"),
    invalid("exactly_is_not_supported", {"a": [{"exactly": "x"}]}, "Unrecognized match type exactly"),
    invalid(
        "two_operators_in_one_expression",
        {"a": [{"prefix": "x", "suffix": "y"}]},
        "Only one key allowed in match expression",
    ),
    invalid("pattern_longer_than_4096_characters", {"a": ["x" * 4100]}, LENGTH),
    invalid(
        "pattern_text_longer_than_4096_characters",
        json.dumps({"a": ["é" * 4090]}, ensure_ascii=False),
        LENGTH,
    ),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), OR + DOTTED + DUPLICATES)
def test_structure(pattern, event, expected):
    check_match(pattern, event, expected)


@pytest.mark.parametrize(("pattern", "reason"), OR_INVALID + STRUCTURE_INVALID)
def test_invalid_structure(pattern, reason):
    check_invalid(pattern, reason)


def test_pattern_of_exactly_4096_characters_is_valid():
    text = '{"a": ["' + "x" * (4096 - 11) + '"]}'
    assert len(text) == 4096
    assert compile_pattern(text).matches({"a": "x" * 4085})


def test_size_limit_counts_characters_not_utf8_bytes():
    text = json.dumps({"a": ["é" * 3000]}, ensure_ascii=False)
    assert len(text.encode()) > 4096 >= len(text)
    assert compile_pattern(text.encode()).matches({"a": "é" * 3000})


def test_size_limit_can_be_lifted():
    assert compile_pattern({"a": ["x" * 5000]}, max_length=None).matches({"a": "x" * 5000})


@pytest.mark.parametrize("text", ["{", '{"a": [1,]}', "{'a': [1]}", '{"a": [NaN]}', "", b"\xff\xfe"])
def test_text_that_is_not_json_is_invalid(text):
    with pytest.raises(InvalidPatternError) as caught:
        compile_pattern(text)
    assert str(caught.value).startswith(PREFIX + "Filter is not valid JSON")
