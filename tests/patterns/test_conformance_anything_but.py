"""Conformance: anything-but in every form (scalar, lists, prefix, suffix, equals-ignore-case, wildcard)."""

from __future__ import annotations

import pytest

from patterns.conformance import check_invalid, check_match, invalid, match, no_match

AB_SCALAR = "Value of anything-but must be an array or single string/number value."
AB_LIST = "Inside anything but list, start|null|boolean is not supported."
AB_IC_LIST = "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
AB_MIXED = "Inside anything but list, either all values are number or string, mixed type is not supported"

ANYTHING_BUT = [
    no_match("anything_but_string_excludes_it", {"s": [{"anything-but": "off"}]}, {"s": "off"}),
    match("anything_but_string_other_value", {"s": [{"anything-but": "off"}]}, {"s": "on"}),
    no_match("anything_but_does_not_match_missing_field", {"s": [{"anything-but": "off"}]}, {"t": "on"}),
    match("anything_but_matches_null", {"s": [{"anything-but": "off"}]}, {"s": None}),
    match("anything_but_string_matches_number", {"s": [{"anything-but": "5"}]}, {"s": 5}),
    match("anything_but_string_matches_boolean", {"s": [{"anything-but": "true"}]}, {"s": True}),
    no_match("anything_but_does_not_match_empty_array", {"s": [{"anything-but": "off"}]}, {"s": []}),
    no_match("anything_but_does_not_match_object", {"s": [{"anything-but": "off"}]}, {"s": {"a": "on"}}),
    match(
        "anything_but_array_with_one_other_element", {"s": [{"anything-but": "off"}]}, {"s": ["off", "on"]}
    ),
    no_match(
        "anything_but_array_of_excluded_elements", {"s": [{"anything-but": "off"}]}, {"s": ["off", "off"]}
    ),
    no_match("anything_but_is_case_sensitive_exclusion", {"s": [{"anything-but": "off"}]}, {"s": "off"}),
    match("anything_but_case_differs", {"s": [{"anything-but": "off"}]}, {"s": "OFF"}),
    no_match("anything_but_string_list_excludes_each", {"s": [{"anything-but": ["a", "b"]}]}, {"s": "b"}),
    match("anything_but_string_list_other", {"s": [{"anything-but": ["a", "b"]}]}, {"s": "c"}),
    no_match("anything_but_number_excludes_it", {"n": [{"anything-but": 5}]}, {"n": 5}),
    no_match("anything_but_number_excludes_equal_double", {"n": [{"anything-but": [1, 2]}]}, '{"n": 1.0}'),
    match("anything_but_number_list_other", {"n": [{"anything-but": [1, 2]}]}, {"n": 3}),
    match("anything_but_number_matches_string_of_it", {"n": [{"anything-but": [1, 2]}]}, {"n": "1"}),
    match("anything_but_number_matches_null", {"n": [{"anything-but": 0}]}, {"n": None}),
    no_match("anything_but_empty_string", {"s": [{"anything-but": ""}]}, {"s": ""}),
    match("anything_but_or_exact_value", {"s": [{"anything-but": "a"}, "a"]}, {"s": "a"}),
    no_match(
        "anything_but_prefix_excludes", {"s": [{"anything-but": {"prefix": "init"}}]}, {"s": "initializing"}
    ),
    match("anything_but_prefix_other", {"s": [{"anything-but": {"prefix": "init"}}]}, {"s": "running"}),
    match("anything_but_prefix_matches_number", {"s": [{"anything-but": {"prefix": "1"}}]}, {"s": 123}),
    match("anything_but_prefix_matches_null", {"s": [{"anything-but": {"prefix": "n"}}]}, {"s": None}),
    no_match("anything_but_prefix_list", {"s": [{"anything-but": {"prefix": ["a", "b"]}}]}, {"s": "bc"}),
    match("anything_but_prefix_list_other", {"s": [{"anything-but": {"prefix": ["a", "b"]}}]}, {"s": "cb"}),
    no_match("anything_but_prefix_missing_field", {"s": [{"anything-but": {"prefix": "a"}}]}, {}),
    no_match("anything_but_suffix_excludes", {"f": [{"anything-but": {"suffix": ".png"}}]}, {"f": "a.png"}),
    match("anything_but_suffix_other", {"f": [{"anything-but": {"suffix": ".png"}}]}, {"f": "a.jpg"}),
    no_match(
        "anything_but_suffix_list", {"f": [{"anything-but": {"suffix": [".png", ".jpg"]}}]}, {"f": "a.jpg"}
    ),
    no_match(
        "anything_but_equals_ignore_case_excludes",
        {"n": [{"anything-but": {"equals-ignore-case": "Alice"}}]},
        {"n": "ALICE"},
    ),
    match(
        "anything_but_equals_ignore_case_other",
        {"n": [{"anything-but": {"equals-ignore-case": "Alice"}}]},
        {"n": "bob"},
    ),
    no_match(
        "anything_but_equals_ignore_case_list",
        {"n": [{"anything-but": {"equals-ignore-case": ["a", "B"]}}]},
        {"n": "b"},
    ),
    match(
        "anything_but_equals_ignore_case_matches_number",
        {"n": [{"anything-but": {"equals-ignore-case": "1"}}]},
        {"n": 1},
    ),
    no_match(
        "anything_but_wildcard_excludes", {"f": [{"anything-but": {"wildcard": "dir/*"}}]}, {"f": "dir/a"}
    ),
    match("anything_but_wildcard_other", {"f": [{"anything-but": {"wildcard": "dir/*"}}]}, {"f": "lib/a"}),
    match(
        "anything_but_empty_wildcard_matches_non_empty_string",
        {"f": [{"anything-but": {"wildcard": ""}}]},
        {"f": "x"},
    ),
    no_match(
        "anything_but_empty_wildcard_excludes_empty_string",
        {"f": [{"anything-but": {"wildcard": ""}}]},
        {"f": ""},
    ),
    no_match(
        "anything_but_wildcard_list", {"f": [{"anything-but": {"wildcard": ["a*", "*z"]}}]}, {"f": "xyz"}
    ),
    match(
        "anything_but_wildcard_list_other", {"f": [{"anything-but": {"wildcard": ["a*", "*z"]}}]}, {"f": "xy"}
    ),
]

ANYTHING_BUT_INVALID = [
    invalid("anything_but_null", {"s": [{"anything-but": None}]}, AB_SCALAR),
    invalid("anything_but_boolean", {"s": [{"anything-but": True}]}, AB_SCALAR),
    invalid("anything_but_list_with_null", {"s": [{"anything-but": ["a", None]}]}, AB_LIST),
    invalid("anything_but_list_with_boolean", {"s": [{"anything-but": [False]}]}, AB_LIST),
    invalid("anything_but_list_with_object", {"s": [{"anything-but": [{"prefix": "a"}]}]}, AB_LIST),
    invalid("anything_but_mixed_strings_and_numbers", {"s": [{"anything-but": ["a", 1]}]}, AB_MIXED),
    invalid(
        "anything_but_empty_prefix",
        {"s": [{"anything-but": {"prefix": ""}}]},
        "Null prefix/suffix not allowed",
    ),
    invalid(
        "anything_but_empty_suffix_in_list",
        {"s": [{"anything-but": {"suffix": ["a", ""]}}]},
        "Null prefix/suffix not allowed",
    ),
    invalid(
        "anything_but_prefix_number",
        {"s": [{"anything-but": {"prefix": 5}}]},
        "prefix/suffix match pattern must be a string",
    ),
    invalid(
        "anything_but_suffix_list_with_number",
        {"s": [{"anything-but": {"suffix": ["a", 5]}}]},
        "prefix/suffix match pattern must be a string",
    ),
    invalid(
        "anything_but_prefix_equals_ignore_case_nesting",
        {"s": [{"anything-but": {"prefix": {"equals-ignore-case": "a"}}}]},
        AB_SCALAR,
    ),
    invalid(
        "anything_but_equals_ignore_case_number",
        {"s": [{"anything-but": {"equals-ignore-case": 5}}]},
        AB_IC_LIST,
    ),
    invalid(
        "anything_but_equals_ignore_case_list_with_number",
        {"s": [{"anything-but": {"equals-ignore-case": ["a", 1]}}]},
        AB_IC_LIST,
    ),
    invalid(
        "anything_but_wildcard_number",
        {"s": [{"anything-but": {"wildcard": 5}}]},
        "wildcard match pattern must be a string",
    ),
    invalid(
        "anything_but_wildcard_consecutive_stars",
        {"s": [{"anything-but": {"wildcard": "a**"}}]},
        "Consecutive wildcard characters at pos 2",
    ),
    invalid(
        "anything_but_exists",
        {"s": [{"anything-but": {"exists": True}}]},
        "Unsupported anything-but pattern: exists",
    ),
    invalid(
        "anything_but_numeric",
        {"s": [{"anything-but": {"numeric": [">", 1]}}]},
        "Unsupported anything-but pattern: numeric",
    ),
    invalid(
        "anything_but_two_operators",
        {"s": [{"anything-but": {"prefix": "a", "suffix": "b"}}]},
        "Only one key allowed in match expression",
    ),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), ANYTHING_BUT)
def test_anything_but(pattern, event, expected):
    check_match(pattern, event, expected)


@pytest.mark.parametrize(("pattern", "reason"), ANYTHING_BUT_INVALID)
def test_invalid_anything_but(pattern, reason):
    check_invalid(pattern, reason)
