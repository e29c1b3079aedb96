"""Tables and streams as resources: a `Table` (key schema, indexes, stream, TTL) built from CreateTable and
described as DynamoDB describes it; where a table's items, index entries and stream records live in the store."""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from .errors import ValidationError, invalid_parameter
from .keys import KeySchema

# Store layout (see `pipework.store.base`): everything of a table is under its account and region, so one server
# keeps the tables of every region apart; the buckets of a table's items are named by its TableId, so a table
# recreated under the same name never sees the entries of the old one while they are being deleted.
TABLE = "dynamodb/table"  # resource kind: name = "<account>/<region>/<table>"
STREAM = "dynamodb/stream"  # resource kind: name = "<account>/<region>/<table>/<label>"
CHECKPOINTS = "dynamodb/stream-checkpoint"  # kv bucket: key = "<stream name>/<consumer, '/' written %2F>"
VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
# Retention of stream records: DynamoDB keeps 24 hours; a table tag can lengthen (or shorten) it.
DEFAULT_RETENTION_HOURS = 24.0
RETENTION_TAG = "pipework:stream-retention-hours"
_ARN = re.compile(
    r"arn:aws[a-z-]*:dynamodb:(?P<region>[^:/]+):(?P<account>[^:/]+):table/(?P<table>[^/]+)(?P<rest>.*)"
)
_STREAM = re.compile(r"/stream/(?P<label>[^/]+)")


def table_key(account: str, region: str, table: str) -> str:
    """A table's resource name."""
    return f"{account}/{region}/{table}"


def table_key_of(arn: str) -> str | None:
    """The resource name of the table a table ARN names (None if `arn` is not one)."""
    found = _ARN.fullmatch(arn)
    if found is None or found["rest"]:
        return None
    return table_key(found["account"], found["region"], found["table"])


def stream_key_of(arn: str) -> str | None:
    """The resource name of the stream a stream ARN names, in the ARN's account and region (None if `arn` is
    not a stream ARN)."""
    found = _ARN.fullmatch(arn)
    stream = _STREAM.fullmatch(found["rest"]) if found is not None else None
    if found is None or stream is None:
        return None
    return f"{table_key(found['account'], found['region'], found['table'])}/{stream['label']}"


def checkpoint_key(stream_key: str, consumer: str) -> str:
    """Where `consumer`'s checkpoint of a stream is kept (a consumer is often an ARN, with `/` in it)."""
    return f"{stream_key}/{consumer.replace('%', '%25').replace('/', '%2F')}"


def items_bucket(table_id: str) -> str:
    return f"dynamodb/item/{table_id}"


def index_bucket(table_id: str, index: str) -> str:
    return f"dynamodb/index/{table_id}/{index}"


def ttl_bucket(table_id: str) -> str:
    return f"dynamodb/ttl/{table_id}"


def stream_log(stream_key: str) -> str:
    return f"dynamodb/stream/{stream_key}"


@dataclass(frozen=True)
class Index:
    """A global (or local) secondary index: its key schema and projection."""

    name: str
    keys: KeySchema
    projection: dict[str, Any]
    key_schema: list[dict[str, str]]
    local: bool = False
    throughput: dict[str, int] | None = None

    def projected(self, item: dict[str, Any], table_keys: tuple[str, ...]) -> dict[str, Any]:
        kind = self.projection.get("ProjectionType", "ALL")
        if kind == "ALL":
            return item
        keep = set(self.keys.names) | set(table_keys)
        if kind == "INCLUDE":
            keep |= set(self.projection.get("NonKeyAttributes", ()))
        return {name: value for name, value in item.items() if name in keep}


@dataclass(frozen=True)
class Table:
    """A table definition as stored (`to_body` / `from_body`), in the account and region it was created in."""

    name: str
    account: str
    region: str
    table_id: str
    created: float
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    billing_mode: str = "PROVISIONED"
    throughput: dict[str, int] = field(default_factory=dict)
    indexes: tuple[Index, ...] = ()
    stream_view_type: str | None = None  # None = no enabled stream
    stream_label: str | None = None  # the latest stream (enabled or not)
    ttl_attribute: str | None = None
    ttl_enabled: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    deletion_protection: bool = False
    status: str = "ACTIVE"

    @functools.cached_property
    def keys(self) -> KeySchema:
        return schema_of(self.key_schema, self.attribute_definitions)

    @property
    def key(self) -> str:
        """The table's resource name."""
        return table_key(self.account, self.region, self.name)

    @property
    def stream_key(self) -> str | None:
        """The resource name of the latest stream (None if the table never had one)."""
        return None if self.stream_label is None else f"{self.key}/{self.stream_label}"

    @property
    def items_bucket(self) -> str:
        return items_bucket(self.table_id)

    @property
    def retention_seconds(self) -> float:
        text = self.tags.get(RETENTION_TAG)
        try:
            hours = float(text) if text is not None else DEFAULT_RETENTION_HOURS
        except ValueError:
            hours = DEFAULT_RETENTION_HOURS
        return hours * 3600.0

    def index(self, name: str) -> Index | None:
        return next((i for i in self.indexes if i.name == name), None)

    @property
    def arn(self) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{self.name}"

    @property
    def stream_arn(self) -> str | None:
        if self.stream_label is None:
            return None
        return f"{self.arn}/stream/{self.stream_label}"

    def to_body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "account": self.account,
            "region": self.region,
            "table_id": self.table_id,
            "created": self.created,
            "key_schema": self.key_schema,
            "attribute_definitions": self.attribute_definitions,
            "billing_mode": self.billing_mode,
            "throughput": self.throughput,
            "indexes": [
                {
                    "name": i.name,
                    "key_schema": i.key_schema,
                    "projection": i.projection,
                    "local": i.local,
                    "throughput": i.throughput,
                }
                for i in self.indexes
            ],
            "stream_view_type": self.stream_view_type,
            "stream_label": self.stream_label,
            "ttl_attribute": self.ttl_attribute,
            "ttl_enabled": self.ttl_enabled,
            "tags": self.tags,
            "deletion_protection": self.deletion_protection,
        }

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Table:
        definitions = body["attribute_definitions"]
        indexes = tuple(
            Index(
                i["name"],
                schema_of(i["key_schema"], definitions),
                i["projection"],
                i["key_schema"],
                i.get("local", False),
                i.get("throughput"),
            )
            for i in body.get("indexes", ())
        )
        return cls(
            name=body["name"],
            account=body["account"],
            region=body["region"],
            table_id=body["table_id"],
            created=body["created"],
            key_schema=body["key_schema"],
            attribute_definitions=definitions,
            billing_mode=body.get("billing_mode", "PROVISIONED"),
            throughput=body.get("throughput") or {},
            indexes=indexes,
            stream_view_type=body.get("stream_view_type"),
            stream_label=body.get("stream_label"),
            ttl_attribute=body.get("ttl_attribute"),
            ttl_enabled=body.get("ttl_enabled", False),
            tags=body.get("tags") or {},
            deletion_protection=body.get("deletion_protection", False),
        )

    def with_(self, **changes: Any) -> Table:
        return replace(self, **changes)


def schema_of(key_schema: list[dict[str, str]], definitions: list[dict[str, str]]) -> KeySchema:
    types = {d["AttributeName"]: d["AttributeType"] for d in definitions}
    hash_name = next(k["AttributeName"] for k in key_schema if k["KeyType"] == "HASH")
    range_name = next((k["AttributeName"] for k in key_schema if k["KeyType"] == "RANGE"), None)
    return KeySchema(hash_name, types[hash_name], range_name, types[range_name] if range_name else None)


def check_key_schema(key_schema: list[dict[str, str]], definitions: dict[str, str], what: str = "") -> None:
    kinds = [k["KeyType"] for k in key_schema]
    if kinds not in (["HASH"], ["HASH", "RANGE"]):
        raise invalid_parameter(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"
            if kinds and kinds[0] != "HASH"
            else "Too many hash keys specified.  All Dynamo DB tables must have exactly one hash key"
            if kinds.count("HASH") > 1
            else "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"
        )
    missing = [k["AttributeName"] for k in key_schema if k["AttributeName"] not in definitions]
    if missing:
        raise invalid_parameter(
            "Some index key attributes are not defined in AttributeDefinitions. "
            f"Keys: [{', '.join(k['AttributeName'] for k in key_schema)}], "
            f"AttributeDefinitions: [{', '.join(definitions)}]"
        )


_REQUIRED = (("KeySchema", "keySchema"), ("AttributeDefinitions", "attributeDefinitions"))


def _check_local_index(spec: dict[str, Any], table_keys: list[str]) -> None:
    """A local secondary index shares the table's partition key and needs a sort key; so does the table."""
    name = spec["IndexName"]
    keys = [k["AttributeName"] for k in spec["KeySchema"]]
    if len(table_keys) < 2:
        raise invalid_parameter(
            "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"
        )
    if len(keys) < 2:
        raise invalid_parameter(f"Index KeySchema does not have a range key for index: {name}")
    if keys[0] != table_keys[0]:
        raise invalid_parameter(
            f"Index KeySchema does not have the same leading hash key as table KeySchema for index: {name}. "
            f"index hash key: {keys[0]}, table hash key: {table_keys[0]}"
        )


def new_table(params: dict[str, Any], now: float, *, account: str, region: str) -> Table:
    """A Table in `account` and `region` from CreateTable's parameters, validated as DynamoDB validates them."""
    # botocore's model no longer marks these required; DynamoDB still requires them for a new table.
    missing = [label for name, label in _REQUIRED if name not in params]
    if missing:
        raise ValidationError(
            f"{len(missing)} validation error{'s' if len(missing) > 1 else ''} detected: "
            + "; ".join(
                f"Value null at '{label}' failed to satisfy constraint: Member must not be null"
                for label in missing
            )
        )
    definitions = {d["AttributeName"]: d["AttributeType"] for d in params["AttributeDefinitions"]}
    if len(definitions) != len(params["AttributeDefinitions"]):
        raise invalid_parameter("Duplicate AttributeName in AttributeDefinitions")
    check_key_schema(params["KeySchema"], definitions)
    table_keys = [k["AttributeName"] for k in params["KeySchema"]]
    used = {k["AttributeName"] for k in params["KeySchema"]}
    indexes: list[Index] = []
    for local, spec_list in (
        (False, params.get("GlobalSecondaryIndexes")),
        (True, params.get("LocalSecondaryIndexes")),
    ):
        for spec in spec_list or ():
            check_key_schema(spec["KeySchema"], definitions)
            if local:
                _check_local_index(spec, table_keys)
            if any(i.name == spec["IndexName"] for i in indexes):
                raise invalid_parameter(f"Duplicate index name: {spec['IndexName']}")
            used |= {k["AttributeName"] for k in spec["KeySchema"]}
            indexes.append(
                Index(
                    spec["IndexName"],
                    schema_of(spec["KeySchema"], params["AttributeDefinitions"]),
                    spec.get("Projection") or {"ProjectionType": "ALL"},
                    spec["KeySchema"],
                    local,
                    spec.get("ProvisionedThroughput"),
                )
            )
    unused = [name for name in definitions if name not in used]
    if unused:
        raise invalid_parameter(
            "Number of attributes in KeySchema does not exactly match number of attributes defined in "
            "AttributeDefinitions"
        )
    billing = params.get("BillingMode", "PROVISIONED")
    throughput = params.get("ProvisionedThroughput")
    if billing == "PROVISIONED" and throughput is None:
        raise invalid_parameter(
            "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
        )
    if billing == "PAY_PER_REQUEST" and throughput is not None:
        raise invalid_parameter(
            "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
        )
    stream = params.get("StreamSpecification") or {}
    view_type = None
    label = None
    if stream.get("StreamEnabled"):
        view_type = stream.get("StreamViewType")
        if view_type is None:
            raise ValidationError("StreamViewType is required when StreamEnabled is true")
        label = stream_label(now)
    tags = {t["Key"]: t["Value"] for t in params.get("Tags") or ()}
    return Table(
        name=params["TableName"],
        account=account,
        region=region,
        table_id=str(uuid.uuid4()),
        created=now,
        key_schema=params["KeySchema"],
        attribute_definitions=params["AttributeDefinitions"],
        billing_mode=billing,
        throughput=throughput or {},
        indexes=tuple(indexes),
        stream_view_type=view_type,
        stream_label=label,
        tags=tags,
        deletion_protection=bool(params.get("DeletionProtectionEnabled", False)),
    )


def stream_label(now: float) -> str:
    """DynamoDB's stream label: the creation time, ISO-8601 with milliseconds."""
    moment = datetime.fromtimestamp(now, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def describe_table(table: Table, *, item_count: int = 0, size_bytes: int = 0) -> dict[str, Any]:
    """DynamoDB's TableDescription."""
    throughput = {
        "NumberOfDecreasesToday": 0,
        "ReadCapacityUnits": table.throughput.get("ReadCapacityUnits", 0),
        "WriteCapacityUnits": table.throughput.get("WriteCapacityUnits", 0),
    }
    out: dict[str, Any] = {
        "AttributeDefinitions": table.attribute_definitions,
        "TableName": table.name,
        "KeySchema": table.key_schema,
        "TableStatus": table.status,
        "CreationDateTime": table.created,
        "ProvisionedThroughput": throughput,
        "TableSizeBytes": size_bytes,
        "ItemCount": item_count,
        "TableArn": table.arn,
        "TableId": table.table_id,
        "DeletionProtectionEnabled": table.deletion_protection,
    }
    if table.billing_mode == "PAY_PER_REQUEST":
        out["BillingModeSummary"] = {
            "BillingMode": "PAY_PER_REQUEST",
            "LastUpdateToPayPerRequestDateTime": table.created,
        }
    globals_ = [i for i in table.indexes if not i.local]
    locals_ = [i for i in table.indexes if i.local]
    if globals_:
        out["GlobalSecondaryIndexes"] = [
            {
                "IndexName": i.name,
                "KeySchema": i.key_schema,
                "Projection": i.projection,
                "IndexStatus": "ACTIVE",
                "ProvisionedThroughput": {
                    "NumberOfDecreasesToday": 0,
                    "ReadCapacityUnits": (i.throughput or {}).get("ReadCapacityUnits", 0),
                    "WriteCapacityUnits": (i.throughput or {}).get("WriteCapacityUnits", 0),
                },
                "IndexSizeBytes": 0,
                "ItemCount": 0,
                "IndexArn": f"{table.arn}/index/{i.name}",
            }
            for i in globals_
        ]
    if locals_:
        out["LocalSecondaryIndexes"] = [
            {
                "IndexName": i.name,
                "KeySchema": i.key_schema,
                "Projection": i.projection,
                "IndexSizeBytes": 0,
                "ItemCount": 0,
                "IndexArn": f"{table.arn}/index/{i.name}",
            }
            for i in locals_
        ]
    if table.stream_view_type is not None:
        out["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view_type}
    if table.stream_label is not None:
        out["LatestStreamLabel"] = table.stream_label
        out["LatestStreamArn"] = table.stream_arn
    return out
