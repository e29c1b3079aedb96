"""Pipework connectors."""
