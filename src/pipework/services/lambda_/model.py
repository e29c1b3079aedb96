"""Lambda's resources as frozen dataclasses — `Function`, `EventInvokeConfig`, `Mapping` (an event source
mapping) — each with ``to_api`` (the output shape) and ``to_store`` / ``from_store``, and the names and keys they go
by. Functions, configs and mappings belong to the account and region of the request (`key`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pipework.jsontypes import JSON

from .errors import invalid

KIND_FUNCTION = "lambda-function"
KIND_CODE = "lambda-code"  # the deployment packages, by SHA-256 (hex): bytes in the store, for every node
KIND_INVOKE_CONFIG = "lambda-invoke-config"
KIND_MAPPING = "lambda-event-source-mapping"
#: The work queue of asynchronous (Event) invocations.
ASYNC_QUEUE = "lambda/async"
LATEST = "$LATEST"
#: Runtimes Pipework runs (on its own Python: the version is recorded, not matched).
RUNTIMES = ("python3.8", "python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
#: The pseudo-bucket of Code.S3Bucket whose S3Key names a local directory (Pipework's extension).
LOCAL_BUCKET = "pipework-local"
#: Lambda's asynchronous invocation defaults.
DEFAULT_ASYNC_RETRIES = 2
DEFAULT_ASYNC_AGE = 21600


def key(account: str, region: str, name: str) -> str:
    return f"{account}/{region}/{name}"


def function_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def timestamp(epoch: float) -> str:
    """Lambda's LastModified format: ``2026-12-02T13:00:00.000+0000``."""
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass(frozen=True)
class FunctionName:
    """A FunctionName parameter taken apart: a name, a partial ARN (``account:function:name``) or a full ARN,
    each with an optional qualifier; `region` / `account` are None when it does not say."""

    name: str
    qualifier: str | None = None
    region: str | None = None
    account: str | None = None

    @classmethod
    def parse(cls, text: str, qualifier: str | None = None) -> FunctionName:
        parts = text.split(":")
        if parts[0] == "arn":
            if len(parts) < 7 or parts[2] != "lambda" or parts[5] != "function":
                raise invalid(f"Invalid function ARN: {text}")
            found = cls(parts[6], parts[7] if len(parts) > 7 else None, parts[3], parts[4])
        elif len(parts) >= 3 and parts[1] == "function":
            found = cls(parts[2], parts[3] if len(parts) > 3 else None, None, parts[0])
        elif len(parts) == 2:
            found = cls(parts[0], parts[1])
        else:
            found = cls(text)
        if qualifier is not None and found.qualifier is not None and qualifier != found.qualifier:
            raise invalid(
                "The derived qualifier from the function name does not match the specified qualifier."
            )
        return dataclasses.replace(found, qualifier=qualifier or found.qualifier)


@dataclass(frozen=True)
class Function:
    """One function ($LATEST: Pipework keeps no published versions).

    `code` is the package's SHA-256 (hex; the store key of its bytes), `code_sha256` Lambda's base64 form;
    `local` marks a function registered with ``--functions`` (code in the server's process, not a package).
    """

    name: str
    arn: str
    region: str
    account: str
    runtime: str
    role: str
    handler: str
    code: str
    code_sha256: str
    code_size: int
    revision: str
    modified: float
    description: str = ""
    timeout: int = 3
    memory: int = 128
    environment: dict[str, str] = field(default_factory=dict)
    architectures: tuple[str, ...] = ("x86_64",)
    dead_letter_arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    ephemeral_storage: int = 512
    statements: tuple[
        JSON, ...
    ] = ()  # the resource policy's statements (AddPermission): recorded, not enforced
    local: bool = False

    @property
    def key(self) -> str:
        return key(self.account, self.region, self.name)

    def to_api(self) -> JSON:
        """The FunctionConfiguration."""
        out: JSON = {
            "FunctionName": self.name,
            "FunctionArn": self.arn,
            "Runtime": self.runtime,
            "Role": self.role,
            "Handler": self.handler,
            "CodeSize": self.code_size,
            "Description": self.description,
            "Timeout": self.timeout,
            "MemorySize": self.memory,
            "LastModified": timestamp(self.modified),
            "CodeSha256": self.code_sha256,
            "Version": LATEST,
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": self.revision,
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": list(self.architectures),
            "EphemeralStorage": {"Size": self.ephemeral_storage},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{self.name}"},
        }
        if self.environment:
            out["Environment"] = {"Variables": dict(self.environment)}
        if self.dead_letter_arn:
            out["DeadLetterConfig"] = {"TargetArn": self.dead_letter_arn}
        return out

    def to_store(self) -> JSON:
        body = dataclasses.asdict(self)
        body["architectures"] = list(self.architectures)
        body["statements"] = list(self.statements)
        return body

    @classmethod
    def from_store(cls, body: JSON) -> Function:
        values: dict[str, Any] = {f.name: body[f.name] for f in dataclasses.fields(cls) if f.name in body}
        values["architectures"] = tuple(values.get("architectures") or ("x86_64",))
        values["statements"] = tuple(values.get("statements") or ())
        return cls(**values)


@dataclass(frozen=True)
class EventInvokeConfig:
    """A function's asynchronous invocation configuration (PutFunctionEventInvokeConfig)."""

    function_arn: str
    modified: float
    maximum_retry_attempts: int | None = None
    maximum_event_age: int | None = None
    on_success: str | None = None
    on_failure: str | None = None

    @property
    def retries(self) -> int:
        return DEFAULT_ASYNC_RETRIES if self.maximum_retry_attempts is None else self.maximum_retry_attempts

    @property
    def age(self) -> int:
        return DEFAULT_ASYNC_AGE if self.maximum_event_age is None else self.maximum_event_age

    def to_api(self) -> JSON:
        out: JSON = {
            "LastModified": self.modified,
            "FunctionArn": self.function_arn + ":" + LATEST,
            "DestinationConfig": {
                "OnSuccess": {"Destination": self.on_success} if self.on_success else {},
                "OnFailure": {"Destination": self.on_failure} if self.on_failure else {},
            },
        }
        if self.maximum_retry_attempts is not None:
            out["MaximumRetryAttempts"] = self.maximum_retry_attempts
        if self.maximum_event_age is not None:
            out["MaximumEventAgeInSeconds"] = self.maximum_event_age
        return out

    def to_store(self) -> JSON:
        return dataclasses.asdict(self)

    @classmethod
    def from_store(cls, body: JSON) -> EventInvokeConfig:
        return cls(**{f.name: body[f.name] for f in dataclasses.fields(cls) if f.name in body})


@dataclass(frozen=True)
class Mapping:
    """An event source mapping: a queue or a table stream feeding a function, run as a pipe by the pipes engine.

    Retry limits use -1 for "until the record expires" (AWS's default for streams)."""

    uuid: str
    arn: str
    region: str
    account: str
    source: str
    function_arn: str
    enabled: bool
    batch_size: int
    batching_window: int
    modified: float
    starting_position: str | None = None
    filters: tuple[str, ...] = ()
    response_types: tuple[str, ...] = ()
    bisect: bool = False
    maximum_retry_attempts: int = -1
    maximum_record_age: int = -1
    parallelization: int = 1
    on_failure: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def is_queue(self) -> bool:
        return self.source.split(":")[2] == "sqs"

    def to_api(self, state: str | None = None, last_result: str | None = None) -> JSON:
        """The mapping's configuration; `state` overrides the one `enabled` gives (Creating, Updating, Deleting),
        `last_result` is the LastProcessingResult this node saw."""
        out: JSON = {
            "UUID": self.uuid,
            "EventSourceArn": self.source,
            "FunctionArn": self.function_arn,
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.batching_window,
            "LastModified": self.modified,
            "State": state or ("Enabled" if self.enabled else "Disabled"),
            "StateTransitionReason": "USER_INITIATED",
            "FunctionResponseTypes": list(self.response_types),
            "EventSourceMappingArn": self.arn,
            "LastProcessingResult": last_result or "No records processed",
        }
        if self.filters:
            out["FilterCriteria"] = {"Filters": [{"Pattern": p} for p in self.filters]}
        if not self.is_queue:
            out.update(
                {
                    "StartingPosition": self.starting_position or "TRIM_HORIZON",
                    "ParallelizationFactor": self.parallelization,
                    "BisectBatchOnFunctionError": self.bisect,
                    "MaximumRetryAttempts": self.maximum_retry_attempts,
                    "MaximumRecordAgeInSeconds": self.maximum_record_age,
                    "DestinationConfig": {
                        "OnFailure": {"Destination": self.on_failure} if self.on_failure else {}
                    },
                }
            )
        return out

    def to_store(self) -> JSON:
        body = dataclasses.asdict(self)
        body["filters"] = list(self.filters)
        body["response_types"] = list(self.response_types)
        return body

    @classmethod
    def from_store(cls, body: JSON) -> Mapping:
        values: dict[str, Any] = {f.name: body[f.name] for f in dataclasses.fields(cls) if f.name in body}
        values["filters"] = tuple(values.get("filters") or ())
        values["response_types"] = tuple(values.get("response_types") or ())
        return cls(**values)
