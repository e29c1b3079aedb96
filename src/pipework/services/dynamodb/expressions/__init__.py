"""DynamoDB expressions: parsing (with DynamoDB's ValidationException messages) and evaluation against items."""

from __future__ import annotations

from .evaluate import evaluate, project, resolve
from .parser import Expressions
from .update import apply_update

__all__ = ["Expressions", "apply_update", "evaluate", "project", "resolve"]
