"""Targets: where a matched event (or a pipe's batch, or a schedule's input) is delivered. One module per kind,
each implementing `Target`; `registry` maps an ARN to its kind."""

from .base import HttpParameters, Message, Problem, Sent, Target, TargetError

__all__ = ["HttpParameters", "Message", "Problem", "Sent", "Target", "TargetError"]
