"""botocore's service models and the validation of operation input against them (AWS's constraints and wording).

Shared by the wire layer (`pipework.api`) and in-process calls (`pipework.api.client.LocalClient`): both decode
and check input the same way. Below the store in the layers: it knows botocore, not Pipework's services.
"""

from __future__ import annotations

from pipework.models.loading import load_service_model
from pipework.models.validation import (
    ENUMS_CHECKED_BY_SERVICE,
    InputDecoder,
    Problem,
    SerializationError,
    compile_input,
    compile_operation_input,
    parse_timestamp,
    render_value,
    validation_message,
)

__all__ = [
    "ENUMS_CHECKED_BY_SERVICE",
    "InputDecoder",
    "Problem",
    "SerializationError",
    "compile_input",
    "compile_operation_input",
    "load_service_model",
    "parse_timestamp",
    "render_value",
    "validation_message",
]
