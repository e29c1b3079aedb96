"""The power-dispatch example's function: a Lambda-style handler the `updates` rule invokes for every dispatch
event (served with ``pipework serve --functions examples/power-dispatch/functions.py``)."""

from __future__ import annotations

from typing import Any

RECEIVED: list[dict[str, Any]] = []


def notify_dispatcher(event: dict[str, Any], context: Any) -> dict[str, str]:
    """Tell the (imaginary) grid dispatcher a subject's power changed; keeps what it got for the walkthrough."""
    RECEIVED.append(event)
    print(f"notify_dispatcher: {event['detail-type']} for {event['detail']['subjectId']}", flush=True)
    return {"status": "notified"}
