"""botocore's service models, loaded once per process: the definition of every served API's operations, shapes
and constraints, read by the wire layer (routing, decoding) and by in-process calls alike."""

from __future__ import annotations

import functools

import botocore.session
from botocore.model import ServiceModel


@functools.cache
def load_service_model(name: str) -> ServiceModel:
    """botocore's model of a service, by its botocore name (``"sqs"``, ``"events"``, ``"dynamodbstreams"``)."""
    return _botocore_session().get_service_model(name)


@functools.cache
def _botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()
