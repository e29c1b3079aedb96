"""The one error of template handling; its message is what CloudFormation's ValidationError says."""

from __future__ import annotations


class TemplateError(Exception):
    """A template that cannot be read, resolved or ordered; `str()` is the message shown to the user."""
