"""The CloudWatch service: metrics, alarms and their evaluation (see `api.CloudWatch`)."""

from .api import CloudWatch

__all__ = ["CloudWatch"]
