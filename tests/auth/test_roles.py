"""Stored roles (what stacks create) as the authorizer reads them: every policy that applies, and the trust policy
deciding who may assume them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pipework.api.auth.credentials import Credentials, Keyring
from pipework.api.auth.roles import RoleError, StoredRoles
from pipework.iam import Request, evaluate

ROLE = "arn:aws:iam::111111111111:role/app/worker"


def allow(action: str, resource: str = "*") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}],
    }


def trust(principal: Any) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }


def allowed(policies: Any, action: str, resource: str = "arn:aws:sqs:us-east-1:111111111111:q") -> bool:
    request = Request(action, resource, ROLE, "111111111111", "111111111111")
    return evaluate(request, policies, None).allowed


def test_a_stored_role_has_its_inline_attached_and_managed_policies() -> None:
    async def scenario() -> None:
        roles = StoredRoles(None)
        keyring = Keyring(Credentials(), None)
        keyring.stored_roles = roles
        await roles.put_managed_policy("arn:aws:iam::111111111111:policy/purge", allow("sqs:PurgeQueue"))
        await roles.put_role(
            ROLE,
            trust({"Service": "lambda.amazonaws.com"}),
            {"send": allow("sqs:SendMessage")},
            ["arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess", "arn:aws:iam::aws:policy/NotModelled"],
        )
        await roles.put_role_policy(ROLE, "receive", allow("sqs:ReceiveMessage"))
        await roles.attach(ROLE, "arn:aws:iam::111111111111:policy/purge")
        assert await roles.role_arn("111111111111", "worker") == ROLE
        role = await keyring.find_role(ROLE)
        assert role is not None and role.name == "worker" and role.account == "111111111111"
        for action in ("sqs:SendMessage", "sqs:ReceiveMessage", "sqs:PurgeQueue", "dynamodb:PutItem"):
            assert allowed(role.parsed, action), action
        assert not allowed(role.parsed, "sqs:DeleteQueue")
        stored = await roles.find(ROLE)
        assert stored is not None and stored.unmodelled == ("arn:aws:iam::aws:policy/NotModelled",)
        assert roles.unmodelled(["arn:aws:iam::aws:policy/NotModelled", "arn:aws:iam::1:policy/x"]) == [
            "arn:aws:iam::aws:policy/NotModelled"
        ]

        await roles.delete_role_policy(ROLE, "receive")
        role = await keyring.find_role(ROLE)
        assert role is not None and not allowed(role.parsed, "sqs:ReceiveMessage")
        await roles.delete_role(ROLE)
        assert await keyring.find_role(ROLE) is None
        await roles.put_role(ROLE, trust({"Service": "lambda.amazonaws.com"}), {}, [])
        again = await keyring.find_role(ROLE)  # made again: without what the deleted role had attached
        assert again is not None and again.parsed == ()
        assert (
            await keyring.find_role("arn:aws:iam::111111111111:role/worker") is None
        )  # the path is the ARN's

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("principal", "account", "caller", "service", "trusted"),
    [
        ({"AWS": "222222222222"}, "222222222222", None, None, True),
        ({"AWS": "arn:aws:iam::222222222222:root"}, "222222222222", None, None, True),
        ({"AWS": "arn:aws:iam::222222222222:root"}, "333333333333", None, None, False),
        ({"AWS": "arn:aws:iam::111111111111:user/alice"}, "111111111111", "arn:aws:iam::111111111111:user/alice",
         None, True),
        ({"AWS": "arn:aws:iam::111111111111:user/alice"}, "111111111111", "arn:aws:iam::111111111111:user/bob",
         None, False),
        ({"Service": "lambda.amazonaws.com"}, "111111111111", None, "lambda.amazonaws.com", True),
        ({"Service": "lambda.amazonaws.com"}, "111111111111", None, "pipes.amazonaws.com", False),
        ({"Service": "lambda.amazonaws.com"}, "222222222222", None, "lambda.amazonaws.com", False),
        ({"Service": "lambda.amazonaws.com"}, "111111111111", None, None, False),
    ],
)  # fmt: skip
def test_the_trust_policy_decides_who_may_assume_a_stored_role(
    principal: Any, account: str, caller: str | None, service: str | None, trusted: bool
) -> None:
    async def scenario() -> bool:
        keyring = Keyring(Credentials(), None)
        await keyring.stored_roles.put_role(ROLE, trust(principal), {}, [])
        role = await keyring.find_role(ROLE)
        assert role is not None
        return role.trusts(account, principal_arn=caller, service=service)

    assert asyncio.run(scenario()) is trusted


@pytest.mark.parametrize(
    "call",
    [
        lambda roles: roles.put_role(ROLE, {"Statement": "nope"}, {}, []),
        lambda roles: roles.put_role(
            ROLE, trust("*"), {"p": {"Version": "2012-10-17", "Statement": [{}]}}, []
        ),
        lambda roles: roles.put_role_policy(ROLE, "p", {"Version": "1999-01-01", "Statement": []}),
        lambda roles: roles.put_managed_policy("arn:aws:iam::111111111111:policy/p", "not a policy"),
        lambda roles: roles.put_role("arn:aws:iam::111111111111:user/not-a-role", trust("*"), {}, []),
    ],
)
def test_a_policy_that_does_not_parse_is_refused(call: Any) -> None:
    with pytest.raises(RoleError):
        asyncio.run(call(StoredRoles(None)))
