"""AWS's policy evaluation, one row per behaviour: wildcards, NotAction/NotResource, conditions, explicit deny,
resource policies and accounts."""

from __future__ import annotations

from typing import Any

import pytest

from pipework.iam import PolicyError, Request, evaluate, parse_policy

ALICE = "arn:aws:iam::111111111111:user/alice"
QUEUE = "arn:aws:sqs:us-east-1:111111111111:orders"
OTHER = "arn:aws:sqs:us-east-1:222222222222:orders"


def identity(*statements: dict[str, Any]) -> Any:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)})


def resource(*statements: dict[str, Any]) -> Any:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, resource_policy=True)


def allow(action: Any, res: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": res, **extra}


def deny(action: Any, res: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": res, **extra}


def request(action: str = "sqs:SendMessage", res: str = QUEUE, **context: list[str]) -> Request:
    owner = res.split(":")[4] if res.count(":") >= 5 else None
    return Request(action, res, ALICE, "111111111111", owner, {k.lower(): v for k, v in context.items()})


CASES = [
    ("nothing_allows_is_an_implicit_deny", [], None, request(), False),
    ("action_wildcard", [identity(allow("sqs:Send*"))], None, request(), True),
    ("action_is_case_insensitive", [identity(allow("SQS:sendmessage"))], None, request(), True),
    ("question_mark_is_one_character", [identity(allow("sqs:SendMessag?"))], None, request(), True),
    ("resource_wildcard", [identity(allow("sqs:*", "arn:aws:sqs:*:111111111111:ord*"))], None, request(), True),
    ("resource_is_case_sensitive", [identity(allow("sqs:*", QUEUE.upper()))], None, request(), False),
    ("not_action_allows_the_rest", [identity({"Effect": "Allow", "NotAction": "sqs:Delete*", "Resource": "*"})],
     None, request(), True),
    ("not_action_excludes", [identity({"Effect": "Allow", "NotAction": "sqs:Send*", "Resource": "*"})],
     None, request(), False),
    ("not_resource", [identity({"Effect": "Allow", "Action": "*", "NotResource": OTHER})], None, request(), True),
    ("explicit_deny_wins", [identity(allow("*"), deny("sqs:SendMessage"))], None, request(), False),
    ("deny_in_resource_policy_wins", [identity(allow("*"))],
     resource({"Effect": "Deny", "Principal": "*", "Action": "sqs:*"}), request(), False),
    ("same_account_resource_policy_alone_grants", [],
     resource({"Effect": "Allow", "Principal": {"AWS": "111111111111"}, "Action": "sqs:SendMessage"}),
     request(), True),
    ("resource_policy_for_another_principal", [],
     resource({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:user/bob"}, "Action": "sqs:*"}),
     request(), False),
    ("cross_account_needs_the_resource_policy", [identity(allow("*"))], None, request(res=OTHER), False),
    ("cross_account_needs_the_identity_policy", [],
     resource({"Effect": "Allow", "Principal": "*", "Action": "sqs:*"}), request(res=OTHER), False),
    ("cross_account_with_both", [identity(allow("*"))],
     resource({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "sqs:*"}),
     request(res=OTHER), True),
    ("string_equals", [identity(allow("*", Condition={"StringEquals": {"aws:username": "alice"}}))], None,
     request(**{"aws:username": ["alice"]}), True),
    ("string_equals_other_value", [identity(allow("*", Condition={"StringEquals": {"aws:username": "bob"}}))],
     None, request(**{"aws:username": ["alice"]}), False),
    ("condition_keys_are_case_insensitive",
     [identity(allow("*", Condition={"StringEquals": {"AWS:UserName": "alice"}}))], None,
     request(**{"aws:username": ["alice"]}), True),
    ("string_like", [identity(allow("*", Condition={"StringLike": {"aws:userid": "AIDA*"}}))], None,
     request(**{"aws:userid": ["AIDA123"]}), True),
    ("missing_key_fails_a_positive_operator",
     [identity(allow("*", Condition={"StringEquals": {"aws:sourceip": "1.2.3.4"}}))], None, request(), False),
    ("missing_key_passes_if_exists", [identity(allow("*", Condition={"StringEqualsIfExists": {"x:y": "z"}}))],
     None, request(), True),
    ("missing_key_passes_a_negated_operator", [identity(allow("*", Condition={"StringNotEquals": {"x:y": "z"}}))],
     None, request(), True),
    ("ip_address", [identity(allow("*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))], None,
     request(**{"aws:sourceip": ["10.1.2.3"]}), True),
    ("not_ip_address", [identity(deny("*", Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
                        allow("*"))], None, request(**{"aws:sourceip": ["192.168.1.1"]}), False),
    ("numeric_less_than", [identity(allow("*", Condition={"NumericLessThan": {"x:n": "10"}}))], None,
     request(**{"x:n": ["9"]}), True),
    ("date_greater_than", [identity(allow("*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}))],
     None, request(**{"aws:currenttime": ["2024-05-01T00:00:00Z"]}), True),
    ("bool", [identity(deny("*", Condition={"Bool": {"aws:SecureTransport": "false"}}), allow("*"))], None,
     request(**{"aws:securetransport": ["false"]}), False),
    ("null_true_when_absent", [identity(allow("*", Condition={"Null": {"x:tag": "true"}}))], None, request(), True),
    ("arn_like", [identity(allow("*", Condition={"ArnLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/*"}}))],
     None, request(**{"aws:sourcearn": ["arn:aws:events:us-east-1:1:rule/r"]}), True),
    ("for_all_values", [identity(allow("*", Condition={"ForAllValues:StringEquals": {"x:tags": ["a", "b"]}}))],
     None, request(**{"x:tags": ["a", "b"]}), True),
    ("for_any_value", [identity(allow("*", Condition={"ForAnyValue:StringEquals": {"x:tags": ["c"]}}))],
     None, request(**{"x:tags": ["a", "b"]}), False),
    ("all_conditions_must_hold", [identity(allow("*", Condition={
        "StringEquals": {"aws:username": "alice"}, "Bool": {"aws:SecureTransport": "true"}}))], None,
     request(**{"aws:username": ["alice"], "aws:securetransport": ["false"]}), False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "identities", "attached", "asked", "allowed"), CASES, ids=[c[0] for c in CASES]
)
def test_evaluation(name: str, identities: list[Any], attached: Any, asked: Request, allowed: bool) -> None:
    assert evaluate(asked, identities, attached).allowed is allowed


def test_denial_reasons_use_awss_wording() -> None:
    assert evaluate(request(), [], None).reason == (
        "because no identity-based policy allows the sqs:SendMessage action"
    )
    assert evaluate(request(), [identity(deny("*"))], None).reason == (
        "with an explicit deny in an identity-based policy"
    )
    assert evaluate(request(res=OTHER), [identity(allow("*"))], None).reason == (
        "because no resource-based policy allows the sqs:SendMessage action"
    )


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("not json", "not valid JSON"),
        (
            {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]},
            "Effect",
        ),
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}, "Action"),
        ({"Version": "1999", "Statement": []}, "Version"),
        ({"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "x", "Resource": "*"}]}, "both"),
        ({"Statement": [allow("*", Condition={"StringSoundsLike": {"a": "b"}})]}, "operator"),
        ({"Statement": [allow("*", Principal="*")]}, "Principal"),
    ],
)
def test_bad_policies_are_refused_with_a_reason(document: Any, problem: str) -> None:
    with pytest.raises(PolicyError, match=problem):
        parse_policy(document)
