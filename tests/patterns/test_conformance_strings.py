"""Conformance: prefix, suffix, equals-ignore-case and wildcard (spec §2), matches and AWS's error messages."""

from __future__ import annotations

import pytest

from patterns.conformance import check_invalid, check_match, invalid, match, no_match

TOO_COMPLEX = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a "
    "wildcard character"
)

PREFIX_SUFFIX = [
    match("prefix_matches", {"r": [{"prefix": "us-"}]}, {"r": "us-east-1"}),
    no_match("prefix_does_not_match", {"r": [{"prefix": "us-"}]}, {"r": "eu-west-1"}),
    no_match("prefix_is_case_sensitive", {"r": [{"prefix": "us-"}]}, {"r": "US-east-1"}),
    match("prefix_equal_to_whole_value", {"r": [{"prefix": "us"}]}, {"r": "us"}),
    no_match("prefix_longer_than_value", {"r": [{"prefix": "us-east"}]}, {"r": "us"}),
    match("empty_prefix_matches_any_string", {"r": [{"prefix": ""}]}, {"r": "anything"}),
    match("empty_prefix_matches_empty_string", {"r": [{"prefix": ""}]}, {"r": ""}),
    no_match("empty_prefix_does_not_match_number", {"r": [{"prefix": ""}]}, {"r": 5}),
    no_match("prefix_does_not_match_number_digits", {"n": [{"prefix": "3"}]}, {"n": 300}),
    no_match("prefix_does_not_match_null", {"n": [{"prefix": "n"}]}, {"n": None}),
    match("prefix_on_an_array_element", {"r": [{"prefix": "b"}]}, {"r": ["a", "bc"]}),
    match("prefix_or_exact_value", {"r": [{"prefix": "x"}, "abc"]}, {"r": "abc"}),
    match(
        "prefix_equals_ignore_case",
        {"r": [{"prefix": {"equals-ignore-case": "EventB"}}]},
        {"r": "eventbridge"},
    ),
    no_match(
        "prefix_equals_ignore_case_other_text",
        {"r": [{"prefix": {"equals-ignore-case": "EventB"}}]},
        {"r": "events"},
    ),
    match("suffix_matches", {"f": [{"suffix": ".png"}]}, {"f": "image.png"}),
    no_match("suffix_does_not_match", {"f": [{"suffix": ".png"}]}, {"f": "image.jpg"}),
    no_match("suffix_is_case_sensitive", {"f": [{"suffix": ".png"}]}, {"f": "image.PNG"}),
    match("empty_suffix_matches_any_string", {"f": [{"suffix": ""}]}, {"f": "x"}),
    no_match("suffix_does_not_match_number", {"f": [{"suffix": "0"}]}, {"f": 100}),
    match("suffix_equals_ignore_case", {"f": [{"suffix": {"equals-ignore-case": ".PNG"}}]}, {"f": "a.png"}),
    no_match(
        "suffix_equals_ignore_case_other_text",
        {"f": [{"suffix": {"equals-ignore-case": ".PNG"}}]},
        {"f": "a.gif"},
    ),
    match("prefix_and_suffix_in_one_list_are_ored", {"f": [{"prefix": "a"}, {"suffix": "z"}]}, {"f": "xyz"}),
]

PREFIX_SUFFIX_INVALID = [
    invalid("prefix_number_is_invalid", {"r": [{"prefix": 5}]}, "prefix match pattern must be a string"),
    invalid("prefix_null_is_invalid", {"r": [{"prefix": None}]}, "prefix match pattern must be a string"),
    invalid("suffix_list_is_invalid", {"r": [{"suffix": ["a"]}]}, "suffix match pattern must be a string"),
    invalid(
        "prefix_with_other_inner_operator",
        {"r": [{"prefix": {"wildcard": "a"}}]},
        "Unsupported prefix pattern: wildcard",
    ),
    invalid(
        "prefix_equals_ignore_case_number",
        {"r": [{"prefix": {"equals-ignore-case": 1}}]},
        "equals-ignore-case match pattern must be a string",
    ),
    invalid(
        "prefix_and_suffix_in_one_expression",
        {"r": [{"prefix": "a", "suffix": "b"}]},
        "Only one key allowed in match expression",
    ),
]

EQUALS_IGNORE_CASE = [
    match("equals_ignore_case_matches_other_case", {"n": [{"equals-ignore-case": "alice"}]}, {"n": "ALICE"}),
    match("equals_ignore_case_mixed_case", {"n": [{"equals-ignore-case": "aLiCe"}]}, {"n": "AlIcE"}),
    no_match("equals_ignore_case_other_value", {"n": [{"equals-ignore-case": "alice"}]}, {"n": "alicia"}),
    no_match("equals_ignore_case_is_not_prefix", {"n": [{"equals-ignore-case": "ali"}]}, {"n": "alice"}),
    match("equals_ignore_case_empty_matches_empty", {"n": [{"equals-ignore-case": ""}]}, {"n": ""}),
    no_match("equals_ignore_case_empty_does_not_match_text", {"n": [{"equals-ignore-case": ""}]}, {"n": "a"}),
    no_match("equals_ignore_case_does_not_match_number", {"n": [{"equals-ignore-case": "1"}]}, {"n": 1}),
    match("equals_ignore_case_non_ascii", {"n": [{"equals-ignore-case": "ÉCOLE"}]}, {"n": "école"}),
    no_match(
        "equals_ignore_case_is_per_character_not_full_folding",
        {"n": [{"equals-ignore-case": "İ"}]},
        {"n": "i̇"},
    ),
    match("equals_ignore_case_on_array_element", {"n": [{"equals-ignore-case": "b"}]}, {"n": ["a", "B"]}),
]

EQUALS_IGNORE_CASE_INVALID = [
    invalid(
        "equals_ignore_case_number_is_invalid",
        {"n": [{"equals-ignore-case": 1}]},
        "equals-ignore-case match pattern must be a string",
    ),
    invalid(
        "equals_ignore_case_list_is_invalid",
        {"n": [{"equals-ignore-case": ["a"]}]},
        "equals-ignore-case match pattern must be a string",
    ),
]

WILDCARD = [
    match("wildcard_star_in_the_middle", {"f": [{"wildcard": "dir/*.png"}]}, {"f": "dir/a/b.png"}),
    no_match("wildcard_star_in_the_middle_no_match", {"f": [{"wildcard": "dir/*.png"}]}, {"f": "dir/a.jpg"}),
    match("wildcard_star_matches_empty_run", {"f": [{"wildcard": "dir/*.png"}]}, {"f": "dir/.png"}),
    match("wildcard_lone_star_matches_empty_string", {"f": [{"wildcard": "*"}]}, {"f": ""}),
    match("wildcard_lone_star_matches_any_string", {"f": [{"wildcard": "*"}]}, {"f": "x y z"}),
    no_match("wildcard_does_not_match_number", {"f": [{"wildcard": "*"}]}, {"f": 12}),
    no_match("wildcard_does_not_match_null", {"f": [{"wildcard": "*"}]}, {"f": None}),
    match("wildcard_empty_matches_only_empty_string", {"f": [{"wildcard": ""}]}, {"f": ""}),
    no_match("wildcard_empty_does_not_match_text", {"f": [{"wildcard": ""}]}, {"f": "a"}),
    match("wildcard_without_star_is_exact", {"f": [{"wildcard": "abc"}]}, {"f": "abc"}),
    no_match("wildcard_without_star_is_not_prefix", {"f": [{"wildcard": "abc"}]}, {"f": "abcd"}),
    match("wildcard_several_stars_in_order", {"f": [{"wildcard": "a*b*c"}]}, {"f": "axxbyyc"}),
    no_match("wildcard_segments_out_of_order", {"f": [{"wildcard": "a*b*c"}]}, {"f": "acb"}),
    no_match("wildcard_anchors_cannot_overlap", {"f": [{"wildcard": "ab*ba"}]}, {"f": "aba"}),
    match("wildcard_repeated_segments", {"f": [{"wildcard": "*ab*ab*"}]}, {"f": "xabab"}),
    no_match(
        "wildcard_repeated_segment_needs_two_occurrences", {"f": [{"wildcard": "*ab*ab*"}]}, {"f": "xaba"}
    ),
    no_match("wildcard_is_case_sensitive", {"f": [{"wildcard": "A*"}]}, {"f": "abc"}),
    match("wildcard_escaped_star_is_literal", {"f": [{"wildcard": "a\\*b"}]}, {"f": "a*b"}),
    no_match("wildcard_escaped_star_is_not_a_wildcard", {"f": [{"wildcard": "a\\*b"}]}, {"f": "axb"}),
    match("wildcard_escaped_backslash_is_literal", {"f": [{"wildcard": "a\\\\*"}]}, {"f": "a\\bc"}),
    match("wildcard_five_stars_are_allowed", {"f": [{"wildcard": "a*b*c*d*e*f"}]}, {"f": "a1b2c3d4e5f"}),
    match(
        "wildcard_arn_pattern",
        {"resources": [{"wildcard": "arn:aws:s3:::bucket/*.png"}]},
        {"resources": ["arn:aws:s3:::bucket/x.png"]},
    ),
    match("wildcard_on_array_element", {"f": [{"wildcard": "*x"}]}, {"f": ["a", "bx"]}),
    match("wildcard_dots_and_regex_characters_are_literal", {"f": [{"wildcard": "a.(b)*"}]}, {"f": "a.(b)c"}),
    no_match("wildcard_dot_is_not_any_character", {"f": [{"wildcard": "a.b*"}]}, {"f": "axb"}),
]

WILDCARD_INVALID = [
    invalid(
        "wildcard_consecutive_stars",
        {"f": [{"wildcard": "a**b"}]},
        "Consecutive wildcard characters at pos 2",
    ),
    invalid(
        "wildcard_consecutive_stars_at_start",
        {"f": [{"wildcard": "**"}]},
        "Consecutive wildcard characters at pos 1",
    ),
    invalid("wildcard_invalid_escape", {"f": [{"wildcard": "a\\x"}]}, "Invalid escape character at pos 1"),
    invalid(
        "wildcard_trailing_backslash", {"f": [{"wildcard": "ab\\"}]}, "Invalid escape character at pos 2"
    ),
    invalid("wildcard_number", {"f": [{"wildcard": 5}]}, "wildcard match pattern must be a string"),
    invalid("wildcard_too_complex", {"f": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}, TOO_COMPLEX),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), PREFIX_SUFFIX + EQUALS_IGNORE_CASE + WILDCARD)
def test_string_operators(pattern, event, expected):
    check_match(pattern, event, expected)


@pytest.mark.parametrize(
    ("pattern", "reason"), PREFIX_SUFFIX_INVALID + EQUALS_IGNORE_CASE_INVALID + WILDCARD_INVALID
)
def test_invalid_string_operators(pattern, reason):
    check_invalid(pattern, reason)
