"""Metrics: samples recorded cheaply in memory (`Recorder`), made durable per minute in the store, and the
statistics CloudWatch computes from them (`Aggregate`)."""

from .datapoint import Aggregate
from .recorder import Dimensions, Metric, Recorder, SeriesKey, dimensions, metric_id, sorted_dimensions

__all__ = [
    "Aggregate",
    "Dimensions",
    "Metric",
    "Recorder",
    "SeriesKey",
    "dimensions",
    "metric_id",
    "sorted_dimensions",
]
