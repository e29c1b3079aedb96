"""The SNS API (AWS's query protocol): its operations table over topics (`topics.py`), subscriptions
(`subscriptions.py`) and publishing (`publishing.py`), which share `state.py`.

Topics and subscriptions belong to the account and region of the request (`model.topic_key`). Operations for
mobile push, SMS and data protection are answered with SNS's InvalidParameter naming what Pipework does not do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pipework.jsontypes import JSON
from pipework.services.base import Handler, RequestContext, ServiceError, dispatch

from .publishing import PublishOperations
from .subscriptions import SubscriptionOperations
from .topics import TopicOperations


class SnsService(TopicOperations, SubscriptionOperations, PublishOperations):
    """SNS's operations over a store (parameters: see `SnsState`)."""

    name = "sns"
    operations: ClassVar[Mapping[str, Handler]] = {
        "CreateTopic": TopicOperations.op_CreateTopic,
        "DeleteTopic": TopicOperations.op_DeleteTopic,
        "ListTopics": TopicOperations.op_ListTopics,
        "GetTopicAttributes": TopicOperations.op_GetTopicAttributes,
        "SetTopicAttributes": TopicOperations.op_SetTopicAttributes,
        "TagResource": TopicOperations.op_TagResource,
        "UntagResource": TopicOperations.op_UntagResource,
        "ListTagsForResource": TopicOperations.op_ListTagsForResource,
        "AddPermission": TopicOperations.op_AddPermission,
        "RemovePermission": TopicOperations.op_RemovePermission,
        "Subscribe": SubscriptionOperations.op_Subscribe,
        "ConfirmSubscription": SubscriptionOperations.op_ConfirmSubscription,
        "Unsubscribe": SubscriptionOperations.op_Unsubscribe,
        "ListSubscriptions": SubscriptionOperations.op_ListSubscriptions,
        "ListSubscriptionsByTopic": SubscriptionOperations.op_ListSubscriptionsByTopic,
        "GetSubscriptionAttributes": SubscriptionOperations.op_GetSubscriptionAttributes,
        "SetSubscriptionAttributes": SubscriptionOperations.op_SetSubscriptionAttributes,
        "Publish": PublishOperations.op_Publish,
        "PublishBatch": PublishOperations.op_PublishBatch,
    }

    @staticmethod
    def unknown_operation(operation: str) -> ServiceError:
        return ServiceError(
            "InvalidParameter",
            f"Invalid parameter: Action Reason: Pipework does not serve {operation} (no mobile push, SMS or "
            "data protection).",
            400,
        )

    async def handle(self, operation: str, params: JSON, ctx: RequestContext) -> JSON:
        self.base_url(ctx)  # every request over HTTP tells where the server is reached
        return await dispatch(self, operation, params, ctx)
