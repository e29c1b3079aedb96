"""Conformance: numeric ranges, exists (leaf-only), and cidr (IPv4 and IPv6)."""

from __future__ import annotations

import pytest

from patterns.conformance import check_invalid, check_match, invalid, match, no_match

NUMERIC = [
    match("numeric_open_range", {"n": [{"numeric": [">", 0]}]}, {"n": 0.5}),
    no_match("numeric_lower_bound_is_exclusive", {"n": [{"numeric": [">", 0]}]}, {"n": 0}),
    match("numeric_lower_bound_inclusive", {"n": [{"numeric": [">=", 0]}]}, {"n": 0}),
    no_match("numeric_upper_bound_is_exclusive", {"n": [{"numeric": ["<", 5]}]}, {"n": 5}),
    match("numeric_upper_bound_inclusive", {"n": [{"numeric": ["<=", 5]}]}, {"n": 5}),
    match("numeric_closed_range", {"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 5}),
    no_match("numeric_closed_range_above", {"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 5.000001}),
    match("numeric_equals", {"n": [{"numeric": ["=", 3.018e2]}]}, {"n": 301.8}),
    match("numeric_equals_integer_and_double", {"n": [{"numeric": ["=", 300]}]}, '{"n": 3e2}'),
    no_match("numeric_does_not_match_numeric_string", {"n": [{"numeric": ["=", 300]}]}, {"n": "300"}),
    no_match("numeric_does_not_match_null", {"n": [{"numeric": [">", 0]}]}, {"n": None}),
    no_match("numeric_does_not_match_boolean", {"n": [{"numeric": [">", 0]}]}, {"n": True}),
    no_match("numeric_does_not_match_missing", {"n": [{"numeric": [">", 0]}]}, {}),
    match("numeric_on_array_any_element", {"n": [{"numeric": [">", 10]}]}, {"n": [1, 20]}),
    match("numeric_negative_range", {"n": [{"numeric": [">=", -10, "<", -5]}]}, {"n": -7.25}),
    match("numeric_large_values_beyond_5e9", {"n": [{"numeric": [">", 5e9]}]}, {"n": 1e15}),
    match("numeric_small_difference_is_kept", {"n": [{"numeric": [">", 0.1]}]}, {"n": 0.1000001}),
    match(
        "numeric_differences_beyond_double_precision_are_equal",
        {"n": [{"numeric": ["=", 9007199254740993]}]},
        {"n": 9007199254740992},
    ),
    match("numeric_two_ranges_ored", {"n": [{"numeric": ["<", 0]}, {"numeric": [">", 10]}]}, {"n": 11}),
    no_match("numeric_two_ranges_gap", {"n": [{"numeric": ["<", 0]}, {"numeric": [">", 10]}]}, {"n": 5}),
    match("exact_number_and_numeric_in_one_list", {"n": [7, {"numeric": [">", 100]}]}, {"n": 7.0}),
]

NUMERIC_INVALID = [
    invalid("numeric_not_an_array", {"n": [{"numeric": ">"}]}, "Value of numeric must be an array."),
    invalid("numeric_empty_array", {"n": [{"numeric": []}]}, "Invalid member in numeric match: ]"),
    invalid("numeric_starts_with_a_number", {"n": [{"numeric": [5]}]}, "Invalid member in numeric match: 5"),
    invalid(
        "numeric_unknown_operator", {"n": [{"numeric": ["!=", 5]}]}, "Unrecognized numeric range operator: !="
    ),
    invalid("numeric_value_is_a_string", {"n": [{"numeric": ["<", "5"]}]}, "Value of < must be numeric"),
    invalid(
        "numeric_equals_value_is_null", {"n": [{"numeric": ["=", None]}]}, "Value of equals must be numeric"
    ),
    invalid("numeric_value_missing", {"n": [{"numeric": [">="]}]}, "Value of >= must be numeric"),
    invalid("numeric_value_is_boolean", {"n": [{"numeric": [">", True]}]}, "Value of > must be numeric"),
    invalid(
        "numeric_two_lower_bounds", {"n": [{"numeric": [">", 0, ">", 5]}]}, "Bad numeric range operator: >"
    ),
    invalid(
        "numeric_upper_bound_first",
        {"n": [{"numeric": ["<", 5, ">", 0]}]},
        "Too many elements in numeric expression",
    ),
    invalid(
        "numeric_equals_with_more_terms",
        {"n": [{"numeric": ["=", 5, "<", 6]}]},
        "Too many elements in numeric expression",
    ),
    invalid(
        "numeric_bottom_above_top", {"n": [{"numeric": [">", 5, "<", 1]}]}, "Bottom must be less than top"
    ),
    invalid(
        "numeric_bottom_equal_to_top",
        {"n": [{"numeric": [">=", 5, "<=", 5]}]},
        "Bottom must be less than top",
    ),
    invalid(
        "numeric_too_many_terms",
        {"n": [{"numeric": [">", 0, "<", 5, "<", 6]}]},
        "Too many terms in numeric range expression",
    ),
    invalid(
        "numeric_second_operator_not_a_string",
        {"n": [{"numeric": [">", 0, 5]}]},
        "Bad value in numeric range: 5",
    ),
    invalid(
        "numeric_second_value_missing", {"n": [{"numeric": [">", 0, "<"]}]}, "Value of < must be numeric"
    ),
]

EXISTS = [
    match("exists_true_on_a_leaf", {"a": [{"exists": True}]}, {"a": "x"}),
    no_match("exists_true_on_a_missing_field", {"a": [{"exists": True}]}, {"b": "x"}),
    match("exists_true_on_null", {"a": [{"exists": True}]}, {"a": None}),
    no_match("exists_true_on_an_object_is_leaf_only", {"a": [{"exists": True}]}, {"a": {"b": 1}}),
    no_match("exists_true_on_an_empty_array", {"a": [{"exists": True}]}, {"a": []}),
    match("exists_true_on_an_array", {"a": [{"exists": True}]}, {"a": [1]}),
    no_match("exists_true_on_array_of_objects", {"a": [{"exists": True}]}, {"a": [{"b": 1}]}),
    no_match("exists_true_with_missing_parent", {"a": {"b": [{"exists": True}]}}, {"c": 1}),
    match("exists_false_on_a_missing_field", {"a": [{"exists": False}]}, {"b": "x"}),
    no_match("exists_false_on_a_leaf", {"a": [{"exists": False}]}, {"a": "x"}),
    no_match("exists_false_on_null", {"a": [{"exists": False}]}, {"a": None}),
    match("exists_false_on_an_object", {"a": [{"exists": False}]}, {"a": {"b": 1}}),
    match("exists_false_on_an_empty_array", {"a": [{"exists": False}]}, {"a": []}),
    match("exists_false_with_missing_parent", {"a": {"b": [{"exists": False}]}}, {"c": 1}),
    match("exists_false_and_another_field", {"a": [{"exists": False}], "b": ["x"]}, {"b": "x"}),
    no_match("exists_false_and_another_field_failing", {"a": [{"exists": False}], "b": ["x"]}, {"b": "y"}),
    match("exists_false_or_value", {"a": [{"exists": False}, "x"]}, {"a": "x"}),
    match("exists_false_or_value_missing", {"a": [{"exists": False}, "x"]}, {}),
    no_match("exists_false_or_value_other", {"a": [{"exists": False}, "x"]}, {"a": "y"}),
    match("exists_false_matches_the_empty_event", {"a": [{"exists": False}]}, {}),
]

EXISTS_INVALID = [
    invalid(
        "exists_string", {"a": [{"exists": "true"}]}, "exists match pattern must be either true or false."
    ),
    invalid("exists_number", {"a": [{"exists": 1}]}, "exists match pattern must be either true or false."),
    invalid("exists_null", {"a": [{"exists": None}]}, "exists match pattern must be either true or false."),
    invalid("exists_in_capitals", {"a": [{"EXISTS": True}]}, "Unrecognized match type EXISTS"),
]

CIDR = [
    match("cidr_v4_inside", {"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.0.255"}),
    no_match("cidr_v4_outside", {"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.1.0"}),
    match("cidr_v4_slash_32", {"ip": [{"cidr": "192.168.1.1/32"}]}, {"ip": "192.168.1.1"}),
    match("cidr_v4_slash_0_matches_every_v4", {"ip": [{"cidr": "0.0.0.0/0"}]}, {"ip": "8.8.8.8"}),
    match("cidr_with_host_bits_set", {"ip": [{"cidr": "10.0.0.1/24"}]}, {"ip": "10.0.0.200"}),
    match("cidr_v6_inside", {"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db8:1::5"}),
    no_match("cidr_v6_outside", {"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db9::1"}),
    match("cidr_v6_upper_case_address", {"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:DB8::A"}),
    no_match("cidr_v4_range_does_not_match_v6", {"ip": [{"cidr": "0.0.0.0/0"}]}, {"ip": "::1"}),
    no_match("cidr_does_not_match_a_number", {"ip": [{"cidr": "0.0.0.0/0"}]}, {"ip": 167772161}),
    no_match("cidr_does_not_match_text", {"ip": [{"cidr": "0.0.0.0/0"}]}, {"ip": "localhost"}),
    match("cidr_on_array_element", {"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": ["1.1.1.1", "10.2.3.4"]}),
]

CIDR_INVALID = [
    invalid("cidr_without_slash", {"ip": [{"cidr": "10.0.0.0"}]}, "Malformed CIDR, one '/' required"),
    invalid("cidr_two_slashes", {"ip": [{"cidr": "10.0.0.0/8/8"}]}, "Malformed CIDR, one '/' required"),
    invalid(
        "cidr_mask_not_integer",
        {"ip": [{"cidr": "10.0.0.0/x"}]},
        "Malformed CIDR, mask bits must be an integer",
    ),
    invalid("cidr_bad_address", {"ip": [{"cidr": "10.0.0/24"}]}, "Nonstandard IP address: 10.0.0"),
    invalid(
        "cidr_not_a_string_reports_prefix", {"ip": [{"cidr": 10}]}, "prefix match pattern must be a string"
    ),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), NUMERIC + EXISTS + CIDR)
def test_numeric_exists_cidr(pattern, event, expected):
    check_match(pattern, event, expected)


@pytest.mark.parametrize(("pattern", "reason"), NUMERIC_INVALID + EXISTS_INVALID + CIDR_INVALID)
def test_invalid_numeric_exists_cidr(pattern, reason):
    check_invalid(pattern, reason)
