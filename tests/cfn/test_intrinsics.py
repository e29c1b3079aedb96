"""The intrinsic functions and conditions, evaluated as CloudFormation documents them."""

from __future__ import annotations

from typing import Any

import pytest

from pipework.cfn import Evaluator, ResolvedRefs, TemplateError, load_template

TEMPLATE = """
Parameters:
  Stage: {Type: String}
  Sizes: {Type: CommaDelimitedList}
Mappings:
  Regions:
    us-east-1: {Ami: ami-1}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
  Both: !And [!Condition NotProd, !Equals [a, a]]
  Either: !Or [!Condition IsProd, !Equals [1, "1"]]
Resources:
  Queue: {Type: AWS::SQS::Queue}
  Table: {Type: AWS::DynamoDB::Table, Condition: IsProd}
"""


def evaluator(stage: str = "dev", exports: dict[str, str] | None = None) -> Evaluator:
    created = {"Queue": ("https://q/url", {"Arn": "arn:aws:sqs:us-east-1:000000000000:q", "QueueName": "q"})}

    def ref(name: str) -> Any:
        if name not in created:
            raise TemplateError(f"{name} is not created yet")
        return created[name][0]

    def get_att(name: str, attribute: str) -> Any:
        try:
            return created[name][1][attribute]
        except KeyError:
            raise TemplateError(f"no attribute {attribute}") from None

    return Evaluator(
        load_template(TEMPLATE),
        {"Stage": stage, "Sizes": ["s", "m", "l"]},
        {"AWS::Region": "us-east-1", "AWS::AccountId": "000000000000", "AWS::StackName": "st"},
        ResolvedRefs(ref, get_att, exports or {}),
    )


def test_refs_subs_and_getatts() -> None:
    ev = evaluator()
    assert ev.resolve({"Ref": "Stage"}) == "dev"
    assert ev.resolve({"Ref": "Queue"}) == "https://q/url"
    assert ev.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == "arn:aws:sqs:us-east-1:000000000000:q"
    assert (
        ev.resolve({"Fn::Sub": "${AWS::StackName}-${Stage}-${Queue.QueueName}-${!Literal}"})
        == "st-dev-q-${Literal}"
    )
    assert ev.resolve({"Fn::Sub": ["${A}-${Stage}", {"A": {"Ref": "AWS::Region"}}]}) == "x-dev".replace(
        "x", "us-east-1"
    )
    assert (
        ev.resolve({"Fn::Join": ["/", [{"Ref": "Stage"}, "b", {"Fn::Select": [1, {"Ref": "Sizes"}]}]]})
        == "dev/b/m"
    )
    assert ev.resolve({"Fn::Split": [",", "a,b"]}) == ["a", "b"]
    assert ev.resolve({"Fn::FindInMap": ["Regions", {"Ref": "AWS::Region"}, "Ami"]}) == "ami-1"
    assert ev.resolve({"Fn::GetAZs": ""}) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert ev.resolve({"Fn::Base64": "hi"}) == "aGk="
    assert ev.resolve({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}) == ["10.0.0.0/24", "10.0.1.0/24"]


def test_conditions_if_and_no_value() -> None:
    dev, prod = evaluator("dev"), evaluator("prod")
    assert not dev.condition("IsProd") and dev.condition("NotProd") and dev.condition("Both")
    assert prod.condition("IsProd") and prod.condition("Either") and not prod.condition("Both")
    assert dev.condition("Either")  # 1 and "1" compare as strings
    node = {"A": {"Fn::If": ["IsProd", "p", {"Ref": "AWS::NoValue"}]}, "L": [1, {"Ref": "AWS::NoValue"}]}
    assert dev.resolve(node) == {"L": [1]}
    assert prod.resolve(node) == {"A": "p", "L": [1]}
    resources = dev.template["Resources"]
    assert dev.included("Queue", resources) and not dev.included("Table", resources)


def test_import_value_reads_exports() -> None:
    assert evaluator(exports={"shared-arn": "arn:x"}).resolve({"Fn::ImportValue": "shared-arn"}) == "arn:x"
    with pytest.raises(TemplateError, match=r"No export named missing found\."):
        evaluator().resolve({"Fn::ImportValue": "missing"})


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"Ref": "Nope"}, r"Unresolved resource dependencies \[Nope\]"),
        ({"Fn::GetAtt": ["Nope", "Arn"]}, "references undefined resource Nope"),
        ({"Fn::GetAtt": ["Queue", "Bogus"]}, "no attribute Bogus"),
        ({"Fn::Select": [5, ["a"]]}, "nonexistent value at index 5"),
        ({"Fn::Select": ["x", ["a"]]}, "is not a number"),
        ({"Fn::FindInMap": ["Regions", "eu-west-1", "Ami"]}, "Unable to get mapping"),
        ({"Fn::Join": [","]}, "takes a list of 2 elements"),
        ({"Fn::Bogus": 1}, "Unrecognized function Fn::Bogus"),
        ({"Fn::If": ["Unknown", 1, 2]}, r"Unresolved dependencies \[Unknown\]"),
        ({"Fn::And": [True]}, "between 2 and 10"),
        ({"Fn::Sub": "${AWS::NoValue}"}, "cannot be used in Fn::Sub"),
    ],
)
def test_bad_functions_get_clear_errors(node: Any, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        evaluator().resolve(node)


def test_a_condition_that_refers_to_itself_is_refused() -> None:
    template = load_template("Conditions: {A: !Condition A}\nResources: {Q: {Type: X}}")
    ev = Evaluator(template, {}, {}, ResolvedRefs(lambda n: n, lambda n, a: a))
    with pytest.raises(TemplateError, match="refers to itself"):
        ev.condition("A")
