"""Delivering a queued SNS message to its subscription's endpoint — an SQS queue (the JSON document or the raw
message), an HTTP/S endpoint (a POST with SNS's headers; 2xx is delivered, 429 and 5xx are retried, other statuses
are client errors), a Pipework function (a Lambda event) — and to the subscription's dead-letter queue when the
delivery policy gives up.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import orjson

from pipework.connectors.targets import Message, TargetError
from pipework.connectors.targets.registry import Targets
from pipework.engine.dispatcher import Failure
from pipework.jsontypes import JSON

from . import messages

#: Seconds an HTTP/S endpoint has to answer (AWS's delivery timeout).
HTTP_TIMEOUT = 15.0


def _queue_message(body: JSON) -> Message:
    """What an SQS subscription (or a dead-letter queue) receives."""
    if body["raw"]:
        return Message(
            body["message"],
            attributes=body.get("attributes") or None,
            group_id=body.get("group_id"),
            deduplication_id=body.get("deduplication_id"),
        )
    return Message(
        orjson.dumps(body["document"]).decode(),
        group_id=body.get("group_id"),
        deduplication_id=body.get("deduplication_id"),
    )


class SnsDelivery:
    """What the dispatcher calls for SNS deliveries (bodies built by `messages.delivery`).

    Parameters: `targets`, the instance's (queues and functions); `http`, the shared HTTP client; `subscribed`,
    whether a subscription ARN still exists (a message queued for a subscription deleted since is dropped, as AWS
    stops delivering to it).
    """

    def __init__(
        self, targets: Targets, http: httpx.AsyncClient, subscribed: Callable[[str], bool] = lambda arn: True
    ) -> None:
        self.targets = targets
        self.http = http
        self.subscribed = subscribed

    async def invoke(self, body: JSON) -> None:
        if not self.subscribed(body["subscription"]):
            return  # unsubscribed (or its topic deleted) after the message was queued: nothing to deliver
        protocol = body["protocol"]
        if protocol == "sqs":
            await self.targets.send_one(body["endpoint"], _queue_message(body))
        elif protocol == "lambda":
            await self.targets.send_one(body["endpoint"], Message(messages.lambda_event(body)))
        else:
            await self._post(body)

    async def _post(self, body: JSON) -> None:
        content = body["message"] if body["raw"] else orjson.dumps(body["document"]).decode()
        try:
            response = await self.http.post(
                body["endpoint"],
                content=content.encode("utf-8", "surrogatepass"),
                headers=messages.http_headers(body),
                timeout=HTTP_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            raise TargetError("HTTP_ERROR", f"{type(exc).__name__}: {exc}") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        retryable = status == 429 or status >= 500
        raise TargetError(f"HTTP_{status}", f"The endpoint answered HTTP {status}.", retryable=retryable)

    async def dead_letter(self, body: JSON, failure: Failure) -> bool:
        """Send the undeliverable message to the subscription's RedrivePolicy queue: what the endpoint would have
        received (the JSON document, or the raw message with its attributes); False if there is none or it
        cannot be reached."""
        arn = body.get("dlq")
        if not arn or body["document"]["Type"] != "Notification":
            return False
        message = _queue_message(body)
        try:
            await self.targets.send_one(arn, message)
        except TargetError:
            return False
        return True
