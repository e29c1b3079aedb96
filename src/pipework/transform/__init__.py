"""Input transformation: rule targets' Input / InputPath / InputTransformer, Pipes inline templates, and the
JSONPath subset both use. Pure functions: JSON in, text out; no I/O.

    from pipework.transform import render_target_input, render_pipe_template
"""

from .errors import TransformError
from .input import (
    InputTransformer,
    RuleContext,
    apply_input_path,
    compile_input_transformer,
    render_target_input,
    validate_target_input,
)
from .jsonpath import JsonPath, compile_path
from .pipes import (
    PipeContext,
    PipeTemplate,
    compile_pipe_template,
    is_dynamic_parameter,
    parse_record_data,
    render_pipe_input,
    render_pipe_template,
    resolve_parameters,
)

__all__ = [
    "InputTransformer",
    "JsonPath",
    "PipeContext",
    "PipeTemplate",
    "RuleContext",
    "TransformError",
    "apply_input_path",
    "compile_input_transformer",
    "compile_path",
    "compile_pipe_template",
    "is_dynamic_parameter",
    "parse_record_data",
    "render_pipe_input",
    "render_pipe_template",
    "render_target_input",
    "resolve_parameters",
    "validate_target_input",
]
