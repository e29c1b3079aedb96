"""CreatePipe / UpdatePipe checks beyond botocore's model: what Pipework can run, patterns, templates and the
limits that depend on the source and the target (AWS's messages where AWS has them)."""

from __future__ import annotations

from pipework.connectors.targets import Message
from pipework.connectors.targets import registry as targets
from pipework.connectors.targets.base import GROUP_ID_REQUIRED
from pipework.connectors.targets.queue import is_standard_queue
from pipework.jsontypes import JSON
from pipework.patterns import InvalidPatternError, compile_pattern
from pipework.transform import TransformError, compile_pipe_template

from . import model
from .errors import validation

_SOURCES = "a table's stream (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>) or a queue"
_TARGETS = "an event bus, an API destination, a queue, a local function, a log group or a standard SNS topic"


def validate_pipe(body: JSON) -> None:
    """Raise `ValidationException` if the (complete, merged) pipe definition cannot run."""
    kind = model.source_kind(body["Source"])
    if kind is None:
        raise validation(f"Source {body['Source']} is not supported. Pipework reads from {_SOURCES}.")
    source_params: JSON = body.get("SourceParameters") or {}
    member = model.SOURCES[kind][1]
    for other in source_params:
        if other not in ("FilterCriteria", member):
            raise validation(
                f"SourceParameters.{other} does not apply to source {body['Source']}; use {member}."
            )
    params = source_params.get(member) or {}
    if kind == "dynamodb" and not params.get("StartingPosition"):
        raise validation("StartingPosition is required for a DynamoDB stream source.")
    dead_letter = (params.get("DeadLetterConfig") or {}).get("Arn")
    if dead_letter and not is_standard_queue(dead_letter):
        raise validation("DeadLetterConfig.Arn must be a standard SQS queue.")
    window = params.get("MaximumBatchingWindowInSeconds")
    if kind == "sqs" and (params.get("BatchSize") or 0) > 10 and not window:
        raise validation(
            "MaximumBatchingWindowInSeconds must be at least 1 when BatchSize is greater than 10."
        )
    filters = (source_params.get("FilterCriteria") or {}).get("Filters") or []
    if len(filters) > 5:
        raise validation("FilterCriteria.Filters may hold at most 5 patterns.")
    for position, item in enumerate(filters):
        pattern = item.get("Pattern")
        if not pattern:
            continue
        try:
            compile_pattern(pattern)
        except InvalidPatternError as exc:
            raise validation(
                f"FilterCriteria.Filters[{position}].Pattern is invalid: {exc.message}"
            ) from None

    target = model.target_kind(body["Target"])
    if target is None:
        raise validation(f"Target {body['Target']} is not supported. Pipework delivers to {_TARGETS}.")
    given_batch = params.get("BatchSize")
    target_max = model.TARGET_MAX_BATCH.get(target)
    if given_batch is not None and target_max is not None and given_batch > target_max:
        raise validation(
            f"BatchSize {given_batch} exceeds the maximum batch size of the target ({target_max})."
        )
    enrichment = body.get("Enrichment")
    if enrichment:
        enrichment_kind = model.enrichment_kind(enrichment)
        if enrichment_kind is None:
            raise validation(
                f"Enrichment {enrichment} is not supported. Pipework enriches with a local function or an "
                "API destination."
            )
        if enrichment_kind == "api-destination" and model.batch_size(body) != 1:
            raise validation("An API destination enrichment requires a source BatchSize of 1.")
    for where in ("EnrichmentParameters", "TargetParameters"):
        template = (body.get(where) or {}).get("InputTemplate")
        if template is None:
            continue
        try:
            compile_pipe_template(template)
        except TransformError as exc:
            raise validation(f"{where}.InputTemplate: {exc}") from None
    target_params: JSON = body.get("TargetParameters") or {}
    expected = model.TARGETS[target]
    for other in target_params:
        if other not in ("InputTemplate", expected):
            raise validation(f"TargetParameters.{other} does not apply to target {body['Target']}.")
    fifo_group = (target_params.get("SqsQueueParameters") or {}).get("MessageGroupId")
    problem = targets.check(body["Target"], Message(group_id=fifo_group))
    if problem is not None and problem.code == GROUP_ID_REQUIRED:
        if target == "sns":
            raise validation(
                "Pipework pipes deliver to standard SNS topics only (no MessageGroupId to give)."
            )
        raise validation("SqsQueueParameters.MessageGroupId is required for a FIFO queue target.")
