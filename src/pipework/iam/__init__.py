"""IAM-style access policies: parsing policy documents and evaluating a request against identity and resource
policies in AWS's order (explicit deny, then allow, else implicit deny). Pure: JSON in, a decision out."""

from pipework.iam.evaluate import Decision, Request, evaluate
from pipework.iam.policy import Policy, PolicyError, parse_policy

__all__ = ["Decision", "Policy", "PolicyError", "Request", "evaluate", "parse_policy"]
