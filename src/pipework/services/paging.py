"""Paging of List operations: one opaque NextToken format for every service, so each rejects a token it did not
issue for that operation (a garbage string, another operation's token) instead of starting over from the top.

A token is the operation name and the offset of the next item in the operation's sorted results, base64url
encoded; it is opaque to clients, as AWS's are.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import TypeVar

from pipework.services.base import ServiceError

T = TypeVar("T")

#: Every List operation of EventBridge, Scheduler and Pipes answers an invalid token with this error.
INVALID_TOKEN = "Invalid NextToken"


def encode_token(operation: str, position: int) -> str:
    return base64.urlsafe_b64encode(f"{operation}:{position}".encode()).decode("ascii")


def decode_token(operation: str, token: str) -> int:
    """The position `token` stands for, or ValidationException if it is not a token `operation` issued."""
    try:
        name, _, position = base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii").partition(":")
    except (binascii.Error, UnicodeError, ValueError):
        name, position = "", ""
    if name != operation or not position.isdigit() or encode_token(operation, int(position)) != token:
        raise ServiceError("ValidationException", INVALID_TOKEN, 400)
    return int(position)


def page(
    operation: str, items: Sequence[T], token: str | None, limit: int | None, *, default_limit: int = 100
) -> tuple[list[T], str | None]:
    """One page of `items` (sorted by the caller) from `token` (None: the first page), at most `limit` long;
    and the token of the next page, or None when this page is the last."""
    start = decode_token(operation, token) if token else 0
    end = start + (limit or default_limit)
    return list(items[start:end]), (encode_token(operation, end) if end < len(items) else None)
