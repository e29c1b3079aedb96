"""Errors of the pattern language: an invalid pattern, reported with AWS's exact message."""

from __future__ import annotations

PREFIX = "Event pattern is not valid. Reason: "


class PatternError(Exception):
    """Base class of everything `pipework.patterns` raises."""


class InvalidPatternError(PatternError, ValueError):
    """An event pattern AWS would reject with ``InvalidEventPatternException``.

    ``str(err)`` and ``err.message`` are AWS's text, ``Event pattern is not valid. Reason: <reason>``;
    ``err.reason`` is the part after ``Reason: ``.
    """

    code = "InvalidEventPatternException"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.message = PREFIX + reason
        super().__init__(self.message)


class InvalidEventError(PatternError, ValueError):
    """An event that is not JSON text (matching needs a JSON object)."""
