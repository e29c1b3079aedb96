"""Sources: where a pipe's records come from. One small module per kind, each implementing `Source`."""

from .base import Source, SourceBatch

__all__ = ["Source", "SourceBatch"]
