"""Table tags through boto3 (TagResource / UntagResource / ListTagsOfResource), and what an unsupported DynamoDB
operation answers."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def test_table_tags_round_trip(server):
    ddb = server.client("dynamodb")
    arn = ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "team", "Value": "energy"}],
    )["TableDescription"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "grid"}])
    tags = ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "dev"), ("team", "grid")]
    ddb.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "grid"}]
    with pytest.raises(ClientError) as excinfo:
        ddb.list_tags_of_resource(ResourceArn=arn.replace(":table/t", ":table/missing"))
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_an_unsupported_operation_is_a_clear_client_error(server):
    ddb = server.client("dynamodb")
    with pytest.raises(ClientError) as excinfo:
        ddb.list_backups()
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
    assert excinfo.value.response["Error"]["Message"]
