"""Pipework engine."""
