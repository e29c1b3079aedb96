"""The pipe runner (DESIGN flow 3): source → batching window → filter → enrichment → target template → target
→ checkpoint, with partial batch failures, AUTOMATIC_BISECT, retries until MaximumRecordAge, dead letters with
full records, redrive, execution logs and metrics."""

from .dead_letters import DeadLetterReason, DeadLetters, redrive_queue
from .definition import QUEUE, STREAM, PipeDefinition, batch_item_failures, record_id
from .execution import Execution, Outcome, Stages, TargetResult, enrichment_items
from .execution_log import ExecutionLog
from .metrics import PipeMetrics
from .runner import AUTO_STOP_AFTER, PipeRunner, PipeStopped, permission_like

__all__ = [
    "AUTO_STOP_AFTER",
    "QUEUE",
    "STREAM",
    "DeadLetterReason",
    "DeadLetters",
    "Execution",
    "ExecutionLog",
    "Outcome",
    "PipeDefinition",
    "PipeMetrics",
    "PipeRunner",
    "PipeStopped",
    "Stages",
    "TargetResult",
    "batch_item_failures",
    "enrichment_items",
    "permission_like",
    "record_id",
    "redrive_queue",
]
