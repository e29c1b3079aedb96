"""SQS's errors as `ServiceError`s, worded as AWS words them.

Codes are the JSON protocol's (`QueueDoesNotExist`, `InvalidParameterValueException`, ...); the wire layer adds the
query-protocol code (``x-amzn-query-error``) botocore reads into ``Error.Code``, so both
``client.exceptions.QueueDoesNotExist`` and ``error.response["Error"]["Code"]`` match what AWS sends.
"""

from __future__ import annotations

from pipework.services.base import ServiceError

MAX_BATCH = 10

#: SQS's JSON codes whose query-protocol code differs: the wire layer sends it in ``x-amzn-query-error``, and
#: batch results carry it in each failed entry's ``Code``.
QUERY_ERROR_CODES = {
    "InvalidParameterValueException": "InvalidParameterValue",
    "MissingRequiredParameterException": "MissingParameter",
    "AccessDeniedException": "AccessDenied",
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "QueueNameExists": "QueueAlreadyExists",
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "BatchRequestTooLong": "AWS.SimpleQueueService.BatchRequestTooLong",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
    "InvalidBatchEntryId": "AWS.SimpleQueueService.InvalidBatchEntryId",
    "MessageNotInflight": "AWS.SimpleQueueService.MessageNotInflight",
    "PurgeQueueInProgress": "AWS.SimpleQueueService.PurgeQueueInProgress",
    "QueueDeletedRecently": "AWS.SimpleQueueService.QueueDeletedRecently",
    "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
}


def queue_does_not_exist() -> ServiceError:
    return ServiceError("QueueDoesNotExist", "The specified queue does not exist.", 400)


def invalid_parameter(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValueException", message, 400)


def invalid_value(parameter: str, value: object, reason: str) -> ServiceError:
    return invalid_parameter(f"Value {value} for parameter {parameter} is invalid. Reason: {reason}")


def missing_parameter(name: str) -> ServiceError:
    return ServiceError(
        "MissingRequiredParameterException", f"The request must contain the parameter {name}.", 400
    )


def invalid_attribute_name(name: str) -> ServiceError:
    return ServiceError("InvalidAttributeName", f"Unknown Attribute {name}.", 400)


def invalid_attribute_value(name: str, reason: str | None = None) -> ServiceError:
    message = f"Invalid value for the parameter {name}."
    if reason:
        message = f"{message} Reason: {reason}"
    return ServiceError("InvalidAttributeValue", message, 400)


def queue_name_exists(attribute: str) -> ServiceError:
    return ServiceError(
        "QueueNameExists",
        f"A queue already exists with the same name and a different value for attribute {attribute}",
        400,
    )


def receipt_handle_invalid(handle: str) -> ServiceError:
    return ServiceError(
        "ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not a valid receipt handle.', 400
    )


def message_gone(handle: str) -> ServiceError:
    """ChangeMessageVisibility on a message deleted or received again since `handle` was issued."""
    return invalid_value(
        "ReceiptHandle",
        handle,
        "Message does not exist or is not available for visibility timeout change.",
    )


def message_not_inflight() -> ServiceError:
    return ServiceError("MessageNotInflight", "The message referred to isn't in flight.", 400)


def invalid_message_contents() -> ServiceError:
    return ServiceError(
        "InvalidMessageContents",
        "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | "
        "#xE000 to #xFFFD | #x10000 to #x10FFFF",
        400,
    )


def purge_in_progress(name: str) -> ServiceError:
    return ServiceError(
        "PurgeQueueInProgress", f"Only one PurgeQueue operation on {name} is allowed every 60 seconds.", 403
    )


def empty_batch(entry_shape: str) -> ServiceError:
    return ServiceError(
        "EmptyBatchRequest", f"There should be at least one {entry_shape} in the request.", 400
    )


def too_many_entries(count: int) -> ServiceError:
    return ServiceError(
        "TooManyEntriesInBatchRequest",
        f"Maximum number of entries per request are {MAX_BATCH}. You have sent {count}.",
        400,
    )


def batch_ids_not_distinct(entry_id: str) -> ServiceError:
    return ServiceError("BatchEntryIdsNotDistinct", f"Id {entry_id} repeated.", 400)


def invalid_batch_entry_id() -> ServiceError:
    return ServiceError(
        "InvalidBatchEntryId",
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
        "It can be at most 80 letters long.",
        400,
    )


def batch_request_too_long(size: int, limit: int) -> ServiceError:
    return ServiceError(
        "BatchRequestTooLong",
        f"Batch requests cannot be longer than {limit} bytes. You have sent {size} bytes.",
        400,
    )


def resource_not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message, 404)


def unsupported_operation(message: str) -> ServiceError:
    return ServiceError("UnsupportedOperation", message, 400)
