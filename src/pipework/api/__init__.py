"""Pipework api."""
