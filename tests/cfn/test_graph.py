"""Creation order from Ref / GetAtt / Sub / DependsOn; cycles refused."""

from __future__ import annotations

import pytest

from pipework.cfn import TemplateError, creation_order, load_template, references


def test_order_follows_references_and_depends_on() -> None:
    template = load_template(
        """
Resources:
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      Targets: [{Arn: !GetAtt Queue.Arn, Id: q}]
  Queue: {Type: AWS::SQS::Queue, DependsOn: Dlq}
  Bus: {Type: AWS::Events::EventBus, Properties: {Name: !Sub "${Dlq}-bus"}}
  Dlq: {Type: AWS::SQS::Queue}
"""
    )
    resources = template["Resources"]
    order = creation_order(resources, resources)
    assert order.index("Dlq") < order.index("Queue") < order.index("Rule")
    assert order.index("Dlq") < order.index("Bus") < order.index("Rule")
    assert references({"Fn::Sub": ["${X}-${Queue.Arn}", {"X": {"Ref": "Bus"}}]}, resources) == {
        "Queue",
        "Bus",
    }
    assert references({"Fn::Sub": "${!Queue} ${AWS::Region}"}, resources) == set()


def test_excluded_resources_are_left_out() -> None:
    resources = load_template("Resources: {A: {Type: X}, B: {Type: X, Properties: {P: !Ref A}}}")["Resources"]
    assert creation_order(resources, ["B"]) == ["B"]


def test_cycles_and_unknown_depends_on_are_refused() -> None:
    cyclic = load_template(
        "Resources: {A: {Type: X, Properties: {P: !Ref B}}, B: {Type: X, DependsOn: A}, C: {Type: X}}"
    )["Resources"]
    with pytest.raises(TemplateError, match=r"Circular dependency between resources: \[A, B\]"):
        creation_order(cyclic, cyclic)
    unknown = load_template("Resources: {A: {Type: X, DependsOn: Ghost}}")["Resources"]
    with pytest.raises(TemplateError, match=r"Unresolved resource dependencies \[Ghost\]"):
        creation_order(unknown, unknown)
