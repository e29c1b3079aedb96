"""Queues as SQS defines them: names, URLs and ARNs, the settable attributes with AWS's ranges and defaults, and
`Queue`, one queue's definition (stored as a resource, cached in memory by the service).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from urllib.parse import urlsplit

import orjson

from pipework.jsontypes import JSON

from .errors import invalid_attribute_name, invalid_attribute_value, invalid_parameter, invalid_value

KIND_QUEUE = "sqs/queue"  # store resources: one per queue, named by its key "<account>/<region>/<queue name>"
MESSAGES = "sqs/message/"  # + a queue's key: the store work queue holding its messages
MAX_MESSAGE_SIZE = 1_048_576  # 1 MiB (formerly 256 KiB): the most a message or a whole batch may weigh

_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_FIFO_NAME = re.compile(r"[A-Za-z0-9_-]{1,75}\.fifo")
STANDARD_NAME_RULE = "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
FIFO_NAME_RULE = (
    "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, "
    "must end with .fifo suffix and be 1 to 80 in length."
)

# Integer attributes: (minimum, maximum, default).
INTEGER_ATTRIBUTES: dict[str, tuple[int, int, int]] = {
    "DelaySeconds": (0, 900, 0),
    "MaximumMessageSize": (1024, MAX_MESSAGE_SIZE, MAX_MESSAGE_SIZE),
    "MessageRetentionPeriod": (60, 1_209_600, 345_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20, 0),
    "VisibilityTimeout": (0, 43_200, 30),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400, 300),
}
BOOLEAN_ATTRIBUTES = ("FifoQueue", "ContentBasedDeduplication", "SqsManagedSseEnabled")
CHOICE_ATTRIBUTES = {
    "DeduplicationScope": ("messageGroup", "queue"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}
FIFO_ONLY = ("ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
TEXT_ATTRIBUTES = ("Policy", "KmsMasterKeyId", "RedrivePolicy", "RedriveAllowPolicy")
SETTABLE = frozenset((*INTEGER_ATTRIBUTES, *BOOLEAN_ATTRIBUTES, *CHOICE_ATTRIBUTES, *TEXT_ATTRIBUTES))
COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)
# GetQueueAttributes "All", in AWS's order (set-only-if-present attributes are skipped when absent).
ALL_ATTRIBUTES = (
    "Policy",
    "VisibilityTimeout",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
    "ApproximateNumberOfMessagesDelayed",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "RedriveAllowPolicy",
    "SqsManagedSseEnabled",
)


def queue_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


def queue_key(account: str, region: str, name: str) -> str:
    """A queue's key in the store and in `SqsState.queues` (the store's namespace convention)."""
    return f"{account}/{region}/{name}"


def parse_arn(arn: str) -> tuple[str, str, str] | None:
    """(region, account, name) of an SQS queue ARN, or None if `arn` is not one."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not parts[5]:
        return None
    return parts[3], parts[4], parts[5]


def parse_queue_url(url: str) -> tuple[str, str] | None:
    """(account, name) from a queue URL's path ``/<account>/<name>``, whatever the scheme and host."""
    path = urlsplit(url).path if "://" in url else url
    parts = path.strip("/").split("/")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1]


def check_queue_name(name: str, fifo: bool) -> None:
    if fifo:
        if not _FIFO_NAME.fullmatch(name):
            raise invalid_parameter(FIFO_NAME_RULE)
    elif not _NAME.fullmatch(name):
        raise invalid_parameter(STANDARD_NAME_RULE)


@dataclass(frozen=True)
class RedrivePolicy:
    """Where a queue's messages go after `max_receive_count` receives."""

    dead_letter_target_arn: str
    max_receive_count: int


@dataclass(frozen=True)
class Queue:
    """One queue. `attributes` holds the settable attributes as AWS's strings (only those set, defaults are
    filled in by the accessors); `tags` the queue's tags; times are epoch seconds.
    """

    account: str
    name: str
    region: str
    created: float
    modified: float
    attributes: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    # ── identity ──

    @property
    def key(self) -> str:
        """The resource name, and the store queue this queue's messages live in after the `MESSAGES` prefix."""
        return queue_key(self.account, self.region, self.name)

    @property
    def store_queue(self) -> str:
        return MESSAGES + self.key

    @property
    def arn(self) -> str:
        return queue_arn(self.region, self.account, self.name)

    def url(self, host: str) -> str:
        return f"http://{host}/{self.account}/{self.name}"

    # ── typed attributes ──

    def integer(self, name: str) -> int:
        value = self.attributes.get(name)
        return int(value) if value is not None else INTEGER_ATTRIBUTES[name][2]

    @property
    def fifo(self) -> bool:
        return self.attributes.get("FifoQueue") == "true"

    @property
    def content_based_deduplication(self) -> bool:
        return self.attributes.get("ContentBasedDeduplication") == "true"

    @property
    def deduplication_scope(self) -> str:
        return self.attributes.get("DeduplicationScope", "queue")

    @property
    def visibility_timeout(self) -> int:
        return self.integer("VisibilityTimeout")

    @cached_property
    def redrive_policy(self) -> RedrivePolicy | None:
        text = self.attributes.get("RedrivePolicy")
        if not text:
            return None
        policy = orjson.loads(text)
        return RedrivePolicy(policy["deadLetterTargetArn"], int(policy["maxReceiveCount"]))

    def redrive_allows(self, source_arn: str) -> bool:
        """Whether this queue's RedriveAllowPolicy lets `source_arn` use it as its dead-letter queue."""
        text = self.attributes.get("RedriveAllowPolicy")
        if not text:
            return True
        policy = orjson.loads(text)
        permission = policy.get("redrivePermission", "allowAll")
        if permission == "denyAll":
            return False
        if permission == "byQueue":
            return source_arn in policy.get("sourceQueueArns", [])
        return True

    # ── storage ──

    def to_store(self) -> JSON:
        return {
            "account": self.account,
            "name": self.name,
            "region": self.region,
            "created": self.created,
            "modified": self.modified,
            "attributes": self.attributes,
            "tags": self.tags,
        }

    @classmethod
    def from_store(cls, body: JSON) -> Queue:
        return cls(
            body["account"],
            body["name"],
            body["region"],
            body["created"],
            body["modified"],
            dict(body.get("attributes", {})),
            dict(body.get("tags", {})),
        )

    def with_attributes(self, changes: dict[str, str], now: float) -> Queue:
        attributes = dict(self.attributes)
        for name, value in changes.items():
            if value == "" and name in ("RedrivePolicy", "RedriveAllowPolicy", "Policy", "KmsMasterKeyId"):
                attributes.pop(name, None)  # an empty value removes the policy, as on AWS
            else:
                attributes[name] = value
        return replace(self, attributes=attributes, modified=now)


def normalize_attributes(given: dict[str, str], *, fifo: bool, creating: bool) -> dict[str, str]:
    """Check settable attributes and return them in canonical form (integers without leading zeros, booleans
    lower-case, policies as compact JSON). Raises AWS's InvalidAttributeName / InvalidAttributeValue."""
    out: dict[str, str] = {}
    for name, raw in given.items():
        value = str(raw)
        if name not in SETTABLE:
            raise invalid_attribute_name(name)
        if name in INTEGER_ATTRIBUTES:
            low, high, _ = INTEGER_ATTRIBUTES[name]
            try:
                number = int(value)
            except ValueError:
                raise invalid_attribute_value(name) from None
            if not low <= number <= high:
                raise invalid_attribute_value(name)
            out[name] = str(number)
        elif name in BOOLEAN_ATTRIBUTES:
            if value.lower() not in ("true", "false"):
                raise invalid_attribute_value(name)
            out[name] = value.lower()
        elif name in CHOICE_ATTRIBUTES:
            if value not in CHOICE_ATTRIBUTES[name]:
                raise invalid_attribute_value(name)
            out[name] = value
        elif name == "RedrivePolicy":
            out[name] = _redrive_policy(value) if value else ""
        elif name == "RedriveAllowPolicy":
            out[name] = _redrive_allow_policy(value) if value else ""
        else:
            out[name] = value
    if "FifoQueue" in out:
        if not creating:
            raise invalid_attribute_value("FifoQueue", "Modifying queue type is not supported.")
        if out["FifoQueue"] == "false":
            if fifo:
                raise invalid_parameter(FIFO_NAME_RULE)
            del out["FifoQueue"]  # a standard queue does not report FifoQueue
    if not fifo:
        for name in FIFO_ONLY:
            if name in out:
                raise invalid_attribute_name(name)
    return out


def _json_object(name: str, value: str) -> JSON:
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise invalid_value(name, value, "Invalid JSON.") from None
    if not isinstance(parsed, dict):
        raise invalid_value(name, value, "Invalid JSON.")
    return parsed


def _redrive_policy(value: str) -> str:
    policy = _json_object("RedrivePolicy", value)
    arn = policy.get("deadLetterTargetArn")
    count = policy.get("maxReceiveCount")
    if not isinstance(arn, str) or count is None:
        raise invalid_value(
            "RedrivePolicy",
            value,
            "Redrive policy is not a valid JSON map or is missing the deadLetterTargetArn or maxReceiveCount "
            "field.",
        )
    try:
        count = int(count)
    except (TypeError, ValueError):
        count = 0
    if not 1 <= count <= 1000:
        raise invalid_value("RedrivePolicy", value, "Invalid value for maxReceiveCount: must be 1 to 1000.")
    if parse_arn(arn) is None:
        raise invalid_value("RedrivePolicy", value, "Invalid value for deadLetterTargetArn.")
    return orjson.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": count}).decode()


def _redrive_allow_policy(value: str) -> str:
    policy = _json_object("RedriveAllowPolicy", value)
    permission = policy.get("redrivePermission")
    if permission not in ("allowAll", "denyAll", "byQueue"):
        raise invalid_value(
            "RedriveAllowPolicy",
            value,
            "Amazon SQS can't create the redrive allow policy, as it's in an unsupported format.",
        )
    sources = policy.get("sourceQueueArns")
    if permission == "byQueue":
        if not isinstance(sources, list) or not 1 <= len(sources) <= 10:
            raise invalid_value(
                "RedriveAllowPolicy",
                value,
                "Amazon SQS can't create the redrive allow policy. When you specify the byQueue permission "
                "type, you must also specify one or more sourceQueueArns values.",
            )
        return orjson.dumps({"redrivePermission": permission, "sourceQueueArns": sources}).decode()
    if sources:
        raise invalid_value(
            "RedriveAllowPolicy",
            value,
            "Amazon SQS can't create the redrive allow policy. To specify one or more source queue ARNs, "
            "you must set redrivePermission to byQueue.",
        )
    return orjson.dumps({"redrivePermission": permission}).decode()
