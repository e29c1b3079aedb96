"""Pipes resources: ARNs, the kinds of sources, enrichments and targets Pipework runs, AWS's defaults, and the
stored definition compiled into the engine's `PipeDefinition`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from pipework.connectors.targets import registry as targets
from pipework.connectors.targets.log_group import log_file
from pipework.engine.pipes import QUEUE, STREAM, PipeDefinition
from pipework.jsontypes import JSON
from pipework.patterns import compile_pattern

KIND_PIPE = "pipes/pipe"  # store resources, named by pipe key (`pipe_key`)

#: Source kinds: (engine kind, the SourceParameters member that configures it, the records' eventSource).
SOURCES = {
    "dynamodb": (STREAM, "DynamoDBStreamParameters", "aws:dynamodb"),
    "sqs": (QUEUE, "SqsQueueParameters", "aws:sqs"),
}
DEFAULT_BATCH_SIZE = {"dynamodb": 100, "sqs": 10}
#: The most records one target call takes (CreatePipe checks an explicit BatchSize against it).
TARGET_MAX_BATCH = {"bus": 10, "queue": 10, "log-group": 10_000}
#: The target kinds a pipe may deliver to, and the TargetParameters member that configures each.
TARGETS = {
    "bus": "EventBridgeEventBusParameters",
    "queue": "SqsQueueParameters",
    "function": "LambdaFunctionParameters",
    "api-destination": "HttpParameters",
    "log-group": "CloudWatchLogsParameters",
}
#: The kinds a pipe may enrich with.
ENRICHMENTS = ("function", "api-destination")

#: Output members of Create/Update/Delete/Start/Stop.
STATE_MEMBERS = ("Arn", "Name", "DesiredState", "CurrentState", "CreationTime", "LastModifiedTime")
SUMMARY_MEMBERS = (
    "Name",
    "Arn",
    "DesiredState",
    "CurrentState",
    "StateReason",
    "CreationTime",
    "LastModifiedTime",
    "Source",
    "Target",
    "Enrichment",
)
DESCRIBE_MEMBERS = (
    "Arn",
    "Name",
    "Description",
    "DesiredState",
    "CurrentState",
    "StateReason",
    "Source",
    "SourceParameters",
    "Enrichment",
    "EnrichmentParameters",
    "Target",
    "TargetParameters",
    "RoleArn",
    "Tags",
    "CreationTime",
    "LastModifiedTime",
    "LogConfiguration",
    "KmsKeyIdentifier",
)


def pipe_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:pipes:{region}:{account}:pipe/{name}"


def pipe_key(account: str, region: str, name: str) -> str:
    """What a pipe is stored and run under: ``<account>/<region>/<name>`` (pipe names have no ``/``)."""
    return f"{account}/{region}/{name}"


def key_of_arn(arn: str) -> str | None:
    """The key of the pipe ``arn:aws:pipes:<region>:<account>:pipe/<name>`` names, or None for another ARN."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "pipes" and parts[5].startswith("pipe/"):
        return pipe_key(parts[4], parts[3], parts[5].removeprefix("pipe/"))
    return None


def key_of(body: JSON) -> str:
    """The key of a stored pipe (from its ARN, which names its account and region)."""
    key = key_of_arn(body["Arn"])
    assert key is not None, body["Arn"]
    return key


def arn_service(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[2] if len(parts) == 6 and parts[0] == "arn" else ""


def source_kind(arn: str) -> str | None:
    """``dynamodb`` (a table's stream), ``sqs`` (a queue), or None for sources Pipework does not run."""
    service = arn_service(arn)
    if service == "dynamodb" and "/stream/" in arn:
        return "dynamodb"
    if service == "sqs":
        return "sqs"
    return None


def target_kind(arn: str) -> str | None:
    """The kind of target an ARN names (``bus``, ``queue``, ``function``, ``api-destination``, ``log-group``);
    None if a pipe cannot deliver there."""
    kind = targets.kind_name(arn)
    return kind if kind in TARGETS else None


def enrichment_kind(arn: str) -> str | None:
    kind = targets.kind_name(arn)
    return kind if kind in ENRICHMENTS else None


def source_parameters(body: JSON) -> JSON:
    """The kind-specific SourceParameters member (e.g. DynamoDBStreamParameters) of a stored pipe."""
    kind = source_kind(body["Source"])
    if kind is None:
        return {}
    member = SOURCES[kind][1]
    value: JSON = (body.get("SourceParameters") or {}).get(member) or {}
    return value


def batch_size(body: JSON) -> int:
    kind = source_kind(body["Source"]) or "sqs"
    given = source_parameters(body).get("BatchSize")
    if given is not None:
        return int(given)
    # Without an explicit BatchSize, the default is capped at what the target takes in one call.
    target_max = TARGET_MAX_BATCH.get(target_kind(body["Target"]) or "", 10_000)
    return min(DEFAULT_BATCH_SIZE[kind], target_max)


def compile_definition(body: JSON, *, log_directory: Path) -> PipeDefinition:
    """The engine's view of a stored (already validated) pipe."""
    kind = source_kind(body["Source"])
    assert kind is not None
    engine_kind, _, event_source = SOURCES[kind]
    params = source_parameters(body)
    filters = tuple(
        compile_pattern(f["Pattern"])
        for f in ((body.get("SourceParameters") or {}).get("FilterCriteria") or {}).get("Filters", [])
        if f.get("Pattern")
    )
    logging: JSON = body.get("LogConfiguration") or {}
    return PipeDefinition(
        name=body["Name"],
        arn=body["Arn"],
        source=body["Source"],
        source_kind=engine_kind,
        event_source=event_source,
        target=body["Target"],
        filters=filters,
        enrichment=body.get("Enrichment") or None,
        enrichment_parameters=body.get("EnrichmentParameters") or {},
        target_parameters=body.get("TargetParameters") or {},
        batch_size=batch_size(body),
        batching_window=float(params.get("MaximumBatchingWindowInSeconds", 0)),
        starting_position=params.get("StartingPosition", "TRIM_HORIZON"),
        maximum_retry_attempts=int(params.get("MaximumRetryAttempts", -1)),
        maximum_record_age=int(params.get("MaximumRecordAgeInSeconds", -1)),
        bisect=params.get("OnPartialBatchItemFailure") == "AUTOMATIC_BISECT",
        parallelization=int(params.get("ParallelizationFactor", 1)),
        dead_letter_arn=(params.get("DeadLetterConfig") or {}).get("Arn"),
        log_level=logging.get("Level", "OFF"),
        include_execution_data="ALL" in (logging.get("IncludeExecutionData") or []),
        log_group=log_path(body, log_directory),
        log_group_arn=((body.get("LogConfiguration") or {}).get("CloudwatchLogsLogDestination") or {}).get(
            "LogGroupArn"
        ),
    )


def log_path(body: JSON, directory: Path) -> str | None:
    """Where a pipe's execution log is written: the CloudWatch log group's file (as the log target names it),
    or ``pipes/<name>.jsonl`` when the configuration names another destination (S3, Firehose)."""
    logging: JSON = body.get("LogConfiguration") or {}
    if logging.get("Level", "OFF") == "OFF":
        return None
    group = (logging.get("CloudwatchLogsLogDestination") or {}).get("LogGroupArn")
    if group:
        return str(log_file(directory, group))
    return str(directory / "pipes" / f"{body['Name']}.jsonl")


def select(body: JSON, members: tuple[str, ...]) -> JSON:
    return {k: body[k] for k in members if k in body and body[k] is not None}


#: A pipe's members, in the order DescribePipe shows them, and the attributes holding them.
_PIPE_MEMBERS = (
    ("Arn", "arn"),
    ("Name", "name"),
    ("Description", "description"),
    ("DesiredState", "desired_state"),
    ("CurrentState", "current_state"),
    ("StateReason", "state_reason"),
    ("Source", "source"),
    ("SourceParameters", "source_parameters"),
    ("Enrichment", "enrichment"),
    ("EnrichmentParameters", "enrichment_parameters"),
    ("Target", "target"),
    ("TargetParameters", "target_parameters"),
    ("RoleArn", "role_arn"),
    ("Tags", "tags"),
    ("CreationTime", "created"),
    ("LastModifiedTime", "modified"),
    ("LogConfiguration", "log_configuration"),
    ("KmsKeyIdentifier", "kms_key"),
)
#: Members CreatePipe takes as given when present.
_PIPE_OPTIONS = (
    ("Description", "description"),
    ("Enrichment", "enrichment"),
    ("EnrichmentParameters", "enrichment_parameters"),
    ("LogConfiguration", "log_configuration"),
    ("KmsKeyIdentifier", "kms_key"),
)


@dataclass(frozen=True, slots=True)
class Pipe:
    """A pipe as defined, with its state (optional members are None when absent). The store body is its AWS
    members, the shape every version wrote, so any stored pipe loads; the runtime compiles it into the engine's
    `PipeDefinition` when it changes (`compile_definition`), never per record."""

    name: str
    arn: str
    desired_state: str
    current_state: str
    source: str
    target: str
    role_arn: str
    created: float
    modified: float
    source_parameters: JSON = field(default_factory=dict)
    target_parameters: JSON = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    state_reason: str | None = None
    enrichment: str | None = None
    enrichment_parameters: JSON | None = None
    log_configuration: JSON | None = None
    kms_key: str | None = None

    @property
    def key(self) -> str:
        """What the pipe is stored and run under (`pipe_key`)."""
        key = key_of_arn(self.arn)
        assert key is not None, self.arn
        return key

    @classmethod
    def from_api(cls, params: JSON, *, arn: str, now: float) -> Pipe:
        """A pipe from CreatePipe's parameters, being created."""
        options = {a: params[m] for m, a in _PIPE_OPTIONS if params.get(m) is not None}
        return cls(
            name=params["Name"],
            arn=arn,
            desired_state=params.get("DesiredState", "RUNNING"),
            current_state="CREATING",
            source=params["Source"],
            source_parameters=params.get("SourceParameters") or {},
            target=params["Target"],
            target_parameters=params.get("TargetParameters") or {},
            role_arn=params["RoleArn"],
            tags=dict(params.get("Tags") or {}),
            created=now,
            modified=now,
            **options,
        )

    def with_state(self, current: str, reason: str | None = None) -> Pipe:
        """The pipe in CurrentState `current` with StateReason `reason` (None clears it)."""
        return replace(self, current_state=current, state_reason=reason[:512] if reason else None)

    def to_api(self) -> JSON:
        """DescribePipe's answer."""
        out = select(self.to_store(), DESCRIBE_MEMBERS)
        out.setdefault("EnrichmentParameters", {})
        return out

    def summary(self) -> JSON:
        """ListPipes' entry."""
        return select(self.to_store(), SUMMARY_MEMBERS)

    def state(self) -> JSON:
        """The members Create/Update/Delete/Start/Stop answer with."""
        return select(self.to_store(), STATE_MEMBERS)

    def to_store(self) -> JSON:
        out: JSON = {}
        for member, attribute in _PIPE_MEMBERS:
            value = getattr(self, attribute)
            if value is not None:
                out[member] = value
        return out

    @classmethod
    def from_store(cls, body: JSON) -> Pipe:
        """A stored pipe (unknown keys are ignored)."""
        return cls(**{attribute: body[member] for member, attribute in _PIPE_MEMBERS if member in body})
