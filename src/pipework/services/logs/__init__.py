"""The CloudWatch Logs service over the log groups Pipework writes (see `api.CloudWatchLogs`)."""

from .api import CloudWatchLogs

__all__ = ["CloudWatchLogs"]
