"""Reading templates: YAML short forms become long forms, dates stay text, bad templates get CloudFormation's
format errors."""

from __future__ import annotations

import pytest

from pipework.cfn import TemplateError, load_template

YAML = """
AWSTemplateFormatVersion: 2010-09-09
Parameters:
  Stage: {Type: String, Default: dev}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-${Stage}"
      Tags:
        - Key: arn
          Value: !GetAtt Other.Arn
        - Key: joined
          Value: !Join [",", [!Ref Stage, !Select [0, !GetAZs ""]]]
        - Key: cond
          Value: !If [IsProd, !Ref "AWS::NoValue", x]
"""


def test_short_forms_become_long_forms_and_dates_stay_text() -> None:
    template = load_template(YAML)
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    props = template["Resources"]["Queue"]["Properties"]
    assert props["QueueName"] == {"Fn::Sub": "${AWS::StackName}-${Stage}"}
    assert props["Tags"][0]["Value"] == {"Fn::GetAtt": ["Other", "Arn"]}
    assert props["Tags"][1]["Value"] == {
        "Fn::Join": [",", [{"Ref": "Stage"}, {"Fn::Select": [0, {"Fn::GetAZs": ""}]}]]
    }
    assert props["Tags"][2]["Value"] == {"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, "x"]}


def test_json_templates_are_read_too() -> None:
    template = load_template('{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}')
    assert template["Resources"]["Q"]["Type"] == "AWS::SQS::Queue"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Resources: [", "YAML not well-formed"),
        ('{"Resources": ', "JSON not well-formed"),
        ("Description: none", "At least one Resources member must be defined."),
        ("Resources: {A: {Properties: {}}}", "Every Resources object must contain a Type member."),
        ("- a list", "must be a JSON or YAML object"),
        ("Resources: {A: {Type: X, Properties: {V: !Bogus 1}}}", "unsupported tag !Bogus"),
        (
            "Resources: {A: {Type: X, Properties: {V: !GetAtt NoDot}}}",
            "must name a resource and an attribute",
        ),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_bad_templates_get_format_errors(text: str | bytes, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        load_template(text)
