"""Conformance: exact values (strings, numbers, null, booleans) and arrays in events (spec §2)."""

from __future__ import annotations

import pytest

from patterns.conformance import check_match, match, no_match

EXACT = [
    match("exact_string_matches", {"source": ["aws.ec2"]}, {"source": "aws.ec2"}),
    no_match("exact_string_is_case_sensitive", {"source": ["aws.ec2"]}, {"source": "AWS.EC2"}),
    match("exact_values_in_one_list_are_ored", {"s": ["a", "b"]}, {"s": "b"}),
    no_match("exact_string_other_value", {"s": ["a", "b"]}, {"s": "c"}),
    no_match("exact_string_has_no_unicode_normalisation", {"s": ["caf\u00e9"]}, {"s": "cafe\u0301"}),
    match("exact_string_unicode", {"s": ["Zürich ✓"]}, {"s": "Zürich ✓"}),
    no_match("exact_string_no_trimming", {"s": ["a"]}, {"s": " a"}),
    match("empty_string_matches_empty_string", {"s": [""]}, {"s": ""}),
    no_match("empty_string_does_not_match_missing_field", {"s": [""]}, {"t": ""}),
    no_match("empty_string_does_not_match_null", {"s": [""]}, {"s": None}),
    no_match("string_300_does_not_match_number_300", {"n": ["300"]}, {"n": 300}),
    no_match("number_300_does_not_match_string_300", {"n": [300]}, {"n": "300"}),
    match("number_300_matches_300_0", {"n": [300]}, '{"n": 300.0}'),
    match("number_300_matches_3e2", {"n": [300]}, '{"n": 3e2}'),
    match("number_3e2_in_pattern_matches_300", '{"n": [3e2]}', '{"n": 300}'),
    match("number_300_0_in_pattern_matches_3_0e2", '{"n": [300.0]}', '{"n": 3.0e2}'),
    no_match("number_300_does_not_match_301", {"n": [300]}, {"n": 301}),
    match("negative_number", {"n": [-5.5]}, {"n": -5.5}),
    match("zero_matches_negative_zero", {"n": [0]}, '{"n": -0.0}'),
    no_match("number_one_does_not_match_true", {"n": [1]}, {"n": True}),
    match(
        "integer_beyond_64_bits_compares_as_double",
        '{"n": [123456789012345678901234567890]}',
        '{"n": 1.2345678901234568e29}',
    ),
    match("true_matches_true", {"b": [True]}, {"b": True}),
    no_match("true_does_not_match_string_true", {"b": [True]}, {"b": "true"}),
    no_match("false_does_not_match_zero", {"b": [False]}, {"b": 0}),
    no_match("false_does_not_match_true", {"b": [False]}, {"b": True}),
    match("null_matches_null", {"v": [None]}, {"v": None}),
    no_match("null_does_not_match_missing_field", {"v": [None]}, {"w": 1}),
    no_match("null_does_not_match_empty_string", {"v": [None]}, {"v": ""}),
    no_match("null_does_not_match_string_null", {"v": [None]}, {"v": "null"}),
    no_match("null_does_not_match_empty_array", {"v": [None]}, {"v": []}),
    match("null_or_value_matches_either", {"v": [None, "x"]}, {"v": "x"}),
    match(
        "fields_not_named_are_ignored", {"source": ["a"]}, {"source": "a", "detail": {"x": 1}, "other": [1]}
    ),
    match("different_fields_are_anded", {"a": ["1"], "b": ["2"]}, {"a": "1", "b": "2"}),
    no_match("one_failing_field_fails_the_pattern", {"a": ["1"], "b": ["2"]}, {"a": "1", "b": "3"}),
    match("nested_object_path", {"detail": {"state": ["running"]}}, {"detail": {"state": "running"}}),
    no_match("nested_pattern_against_scalar_event_value", {"detail": {"state": ["x"]}}, {"detail": "x"}),
    no_match("leaf_pattern_against_object_event_value", {"detail": ["x"]}, {"detail": {"x": "x"}}),
    match("deeply_nested_path", {"a": {"b": {"c": {"d": [1]}}}}, {"a": {"b": {"c": {"d": 1}}}}),
    match(
        "ip_address_string_matches_textual_variant", {"ip": ["2001:db8::1"]}, {"ip": "2001:DB8:0:0:0:0:0:1"}
    ),
    no_match("ip_address_string_other_address", {"ip": ["10.0.0.1"]}, {"ip": "10.0.0.2"}),
    no_match(
        "json_encoded_string_in_event_is_not_parsed",
        {"detail": {"k": [1]}},
        {"detail": '{"k": 1}'},
    ),
    no_match("event_that_is_not_an_object_matches_nothing", {"a": [{"exists": False}]}, "[1, 2]"),
    match("event_as_bytes", {"a": ["x"]}, b'{"a": "x"}'),
    match(
        "whole_aws_event_envelope",
        {"source": ["my.app"], "detail-type": ["Order"], "detail": {"total": [{"numeric": [">", 10]}]}},
        {
            "version": "0",
            "id": "1",
            "source": "my.app",
            "detail-type": "Order",
            "account": "1",
            "time": "2026-11-24T00:00:00Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": {"total": 12.5},
        },
    ),
]

ARRAYS = [
    match("event_array_matches_if_any_element_matches", {"r": ["b"]}, {"r": ["a", "b", "c"]}),
    no_match("event_array_without_matching_element", {"r": ["x"]}, {"r": ["a", "b"]}),
    match("pattern_list_and_event_array_intersect", {"r": ["x", "b"]}, {"r": ["a", "b"]}),
    no_match("empty_event_array_matches_no_value", {"r": [""]}, {"r": []}),
    match("nested_scalar_arrays_are_flattened", {"r": [3]}, {"r": [[1, 2], [3]]}),
    match("array_element_null_matches_null", {"r": [None]}, {"r": ["a", None]}),
    match("array_of_objects_is_crushed", {"a": {"b": ["x"]}}, {"a": [{"b": "y"}, {"b": "x"}]}),
    no_match("array_of_objects_without_value", {"a": {"b": ["x"]}}, {"a": [{"b": "y"}, {"c": "x"}]}),
    match("array_of_arrays_of_objects", {"a": {"b": ["x"]}}, {"a": [[{"b": "y"}], [{"b": "x"}]]}),
    match(
        "array_consistency_fields_from_the_same_element",
        {"a": {"b": ["1"], "c": ["2"]}},
        {"a": [{"b": "1", "c": "9"}, {"b": "1", "c": "2"}]},
    ),
    no_match(
        "array_consistency_fields_from_different_elements",
        {"a": {"b": ["1"], "c": ["2"]}},
        {"a": [{"b": "1", "c": "9"}, {"b": "9", "c": "2"}]},
    ),
    match(
        "array_consistency_with_a_field_outside_the_array",
        {"t": ["P"], "a": {"b": ["1"]}},
        {"t": "P", "a": [{"b": "0"}, {"b": "1"}]},
    ),
    no_match(
        "array_consistency_in_nested_arrays",
        {"a": {"b": {"c": ["1"], "d": ["2"]}}},
        {"a": [{"b": [{"c": "1", "d": "0"}, {"c": "0", "d": "2"}]}]},
    ),
    match(
        "array_consistency_in_nested_arrays_same_inner_element",
        {"a": {"b": {"c": ["1"], "d": ["2"]}}},
        {"a": [{"b": [{"c": "1", "d": "0"}]}, {"b": [{"c": "1", "d": "2"}]}]},
    ),
    match(
        "array_consistency_across_levels_of_one_element",
        {"a": {"x": ["1"], "b": {"c": ["2"]}}},
        {"a": [{"x": "0", "b": {"c": "2"}}, {"x": "1", "b": [{"c": "3"}, {"c": "2"}]}]},
    ),
    no_match(
        "array_consistency_across_levels_different_elements",
        {"a": {"x": ["1"], "b": {"c": ["2"]}}},
        {"a": [{"x": "0", "b": {"c": "2"}}, {"x": "1", "b": [{"c": "3"}]}]},
    ),
    match(
        "scalar_arrays_inside_one_element_any_value",
        {"a": {"b": ["2"], "c": ["x"]}},
        {"a": [{"b": ["1", "2"], "c": "x"}]},
    ),
    match(
        "two_independent_arrays_need_no_consistency",
        {"a": {"b": ["1"]}, "c": {"d": ["2"]}},
        {"a": [{"b": "1"}, {"b": "0"}], "c": [{"d": "0"}, {"d": "2"}]},
    ),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), EXACT + ARRAYS)
def test_values_and_arrays(pattern, event, expected):
    check_match(pattern, event, expected)
