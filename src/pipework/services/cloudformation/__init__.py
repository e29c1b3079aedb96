"""CloudFormation: stacks from templates (SAM too), their resources made through the served APIs."""

from .api import CloudFormation

__all__ = ["CloudFormation"]
