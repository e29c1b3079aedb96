"""`PipeDefinition`: a pipe as the engine runs it — compiled filters and templates, the source's batching and
retry settings with AWS's defaults applied — built once from the stored definition (see `services.pipes.model`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from pipework.jsontypes import JSON
from pipework.patterns import CompiledPattern
from pipework.transform import PipeContext

#: Source kinds the engine knows: an ordered stream with checkpoints, or a queue whose messages are deleted.
STREAM = "stream"
QUEUE = "queue"


@dataclass(frozen=True)
class PipeDefinition:
    """One pipe, ready to run.

    Parameters:
        name, arn: the pipe's.
        source, source_kind: the source ARN and `STREAM` or `QUEUE`.
        event_source: the records' ``eventSource`` (``aws:dynamodb``, ``aws:sqs``), for default DetailTypes.
        filters: compiled FilterCriteria patterns (OR'ed); empty = every record passes.
        enrichment, enrichment_parameters: the enrichment ARN (or None) and its EnrichmentParameters.
        target, target_parameters: the target ARN and its TargetParameters.
        batch_size, batching_window: records per batch and seconds to wait for a full batch.
        starting_position: TRIM_HORIZON or LATEST (streams).
        maximum_retry_attempts, maximum_record_age: -1 = unbounded (AWS's defaults for streams).
        bisect: OnPartialBatchItemFailure = AUTOMATIC_BISECT.
        parallelization: concurrent batches per shard (records of one item key stay in order).
        dead_letter_arn: DeadLetterConfig.Arn (an SQS queue) or None.
        log_level, include_execution_data, log_group: the LogConfiguration (log_group: the file lines go to
            without a logs service; log_group_arn: the CloudWatch Logs group, if it names one).
    """

    name: str
    arn: str
    source: str
    source_kind: str
    event_source: str
    target: str
    filters: tuple[CompiledPattern, ...] = ()
    enrichment: str | None = None
    enrichment_parameters: JSON = field(default_factory=dict)
    target_parameters: JSON = field(default_factory=dict)
    batch_size: int = 10
    batching_window: float = 0.0
    starting_position: str = "TRIM_HORIZON"
    maximum_retry_attempts: int = -1
    maximum_record_age: int = -1
    bisect: bool = False
    parallelization: int = 1
    dead_letter_arn: str | None = None
    log_level: str = "OFF"
    include_execution_data: bool = False
    log_group: str | None = None
    log_group_arn: str | None = None

    def matches(self, record: JSON, parsed: Any) -> bool:
        """Whether a record passes the filters (`parsed` is the record with its data field parsed as JSON)."""
        return not self.filters or any(f.matches(parsed) for f in self.filters)

    def context(self, ingestion_time: str) -> PipeContext:
        return PipeContext(
            pipe_arn=self.arn,
            pipe_name=self.name,
            source_arn=self.source,
            enrichment_arn=self.enrichment or "",
            target_arn=self.target,
            ingestion_time=ingestion_time,
        )

    @property
    def enrichment_template(self) -> str | None:
        value = self.enrichment_parameters.get("InputTemplate")
        return value if isinstance(value, str) else None

    @property
    def target_template(self) -> str | None:
        value = self.target_parameters.get("InputTemplate")
        return value if isinstance(value, str) else None


def record_id(record: JSON) -> str | None:
    """The id a partial batch response names a record by: SQS ``messageId``, stream ``eventID``."""
    value = record.get("messageId", record.get("eventID"))
    return value if isinstance(value, str) else None


def batch_item_failures(response: Any) -> list[str | None] | None:
    """The ids of a partial batch response ``{"batchItemFailures": [{"itemIdentifier": id}]}``; None when the
    response is not one (success). An entry without an id stands for the whole batch (None)."""
    if isinstance(response, str):
        try:
            response = orjson.loads(response)
        except orjson.JSONDecodeError:
            return None
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return None
    failures = response["batchItemFailures"]
    if not isinstance(failures, list):
        return [None]
    out: list[str | None] = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        out.append(identifier if isinstance(identifier, str) and identifier else None)
    return out
