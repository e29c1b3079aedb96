"""DynamoDB tables (streams, TTL, indexes)."""

from __future__ import annotations

from pipework.jsontypes import JSON

from .base import (
    Made,
    NeedsReplacement,
    Provider,
    ProvisionError,
    Where,
    pick,
    tags_list,
)


def _stream(spec: JSON | None) -> JSON:
    """CloudFormation's StreamSpecification (a view type; present means enabled) in DynamoDB's API shape."""
    if not spec or not spec.get("StreamViewType"):
        return {"StreamEnabled": False}
    return {"StreamEnabled": True, "StreamViewType": spec["StreamViewType"]}


class Table(Provider):
    type = "AWS::DynamoDB::Table"
    replaced_by = frozenset({"TableName", "KeySchema", "LocalSecondaryIndexes"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("TableName") or where.generated_name(logical_id, limit=255)
        params: JSON = {
            "TableName": name,
            **pick(
                props,
                "KeySchema",
                "AttributeDefinitions",
                "GlobalSecondaryIndexes",
                "LocalSecondaryIndexes",
                "ProvisionedThroughput",
                "StreamSpecification",
                "SSESpecification",
                "TableClass",
                "DeletionProtectionEnabled",
            ),
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if "StreamSpecification" in params:
            params["StreamSpecification"] = _stream(params["StreamSpecification"])
        if params["BillingMode"] == "PROVISIONED" and "ProvisionedThroughput" not in params:
            raise ProvisionError(
                'Resource handler returned message: "No provisioned throughput specified for the table"'
            )
        if props.get("Tags"):
            params["Tags"] = tags_list(props["Tags"])
        description = (await self.call("dynamodb", "CreateTable", params, where))["TableDescription"]
        await self._ttl(name, props, {}, where)
        return Made(name, self._attributes(description))

    @staticmethod
    def _attributes(description: JSON) -> JSON:
        attributes = {"Arn": description["TableArn"]}
        if description.get("LatestStreamArn"):
            attributes["StreamArn"] = description["LatestStreamArn"]
        return attributes

    async def _ttl(self, name: str, new: JSON, old: JSON, where: Where) -> None:
        wanted, had = new.get("TimeToLiveSpecification"), old.get("TimeToLiveSpecification")
        if wanted == had:
            return
        spec = wanted or {"AttributeName": (had or {}).get("AttributeName"), "Enabled": False}
        enabled = str(spec.get("Enabled", False)).lower() == "true"
        await self.call(
            "dynamodb",
            "UpdateTimeToLive",
            {
                "TableName": name,
                "TimeToLiveSpecification": {"AttributeName": spec["AttributeName"], "Enabled": enabled},
            },
            where,
        )

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        changes: JSON = {}
        if old.get("StreamSpecification") != new.get("StreamSpecification"):
            changes["StreamSpecification"] = _stream(new.get("StreamSpecification"))
        if old.get("BillingMode") != new.get("BillingMode"):
            changes["BillingMode"] = new.get("BillingMode", "PROVISIONED")
        if old.get("ProvisionedThroughput") != new.get("ProvisionedThroughput") and new.get(
            "ProvisionedThroughput"
        ):
            changes["ProvisionedThroughput"] = new["ProvisionedThroughput"]
        if changes:
            changes["AttributeDefinitions"] = new.get("AttributeDefinitions")
            await self.call("dynamodb", "UpdateTable", {"TableName": made.physical_id, **changes}, where)
        await self._ttl(made.physical_id, new, old, where)
        description = (await self.call("dynamodb", "DescribeTable", {"TableName": made.physical_id}, where))[
            "Table"
        ]
        return Made(made.physical_id, self._attributes(description))

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("dynamodb", "DeleteTable", {"TableName": made.physical_id}, where)
