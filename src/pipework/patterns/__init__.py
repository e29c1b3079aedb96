"""The EventBridge event pattern language: validation with AWS's messages, compilation, and matching.

from pipework.patterns import compile_pattern, Matcher, InvalidPatternError
"""

from .compile import CompiledPattern, compile_pattern
from .errors import InvalidEventError, InvalidPatternError, PatternError
from .explain import mismatched_fields
from .matcher import Matcher

__all__ = [
    "CompiledPattern",
    "InvalidEventError",
    "InvalidPatternError",
    "Matcher",
    "PatternError",
    "compile_pattern",
    "mismatched_fields",
]
