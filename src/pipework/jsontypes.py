"""`JSON`: a JSON object as Python holds it (an AWS request or response shape, a stored body, an event).

The bottom of the layers: every layer may use it, and it imports nothing of Pipework.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]
