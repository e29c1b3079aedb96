"""What a target reports when a delivery fails: an AWS-style error code, whether retrying can help, and when."""

from __future__ import annotations


class TargetError(Exception):
    """A failed invocation.

    Parameters:
        code: the ERROR_CODE a dead-letter message carries (NO_RESOURCE, NO_PERMISSIONS, THROTTLING, TIMEOUT, ...).
        message: the ERROR_MESSAGE.
        retryable: False for errors retries cannot fix (resource gone, permission, bad request); they go straight
            to the dead-letter queue.
        retry_after: seconds the target asked to wait (HTTP ``Retry-After``), or None.
    """

    def __init__(
        self, code: str, message: str, *, retryable: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
