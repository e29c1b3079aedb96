"""A circuit breaker's configuration: the ``PUT /_pipework/breakers/{name}`` body, checked once, kept as a frozen
dataclass with `from_api` / `to_api` (errors name the member at fault, as AWS's validation messages do)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipework.jsontypes import JSON

#: Breaker names: what fits a URL path segment and a store key.
NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
#: The target kinds a breaker can name (`Target` ARNs); a topic is accepted for when SNS targets exist.
TARGET = re.compile(
    r"arn:aws[a-z\-]*:(?:"
    r"events:[a-z0-9\-]+:\d{12}:(?:api-destination|connection|event-bus)/.+"
    r"|lambda:[a-z0-9\-]+:\d{12}:function:.+"
    r"|sqs:[a-z0-9\-]+:\d{12}:.+"
    r"|sns:[a-z0-9\-]+:\d{12}:.+"
    r")"
)
#: Seconds a delivery may stay parked after its event was accepted before it is dead-lettered (14 days).
PARK_RETENTION = 14 * 24 * 3600.0


class BreakerConfigError(ValueError):
    """A configuration member is missing or out of range; the message names it."""


@dataclass(frozen=True, slots=True)
class FailureRate:
    """Trip when at least `percent` % of the calls of the last `window` seconds failed (and at least
    `minimum_calls` were made)."""

    percent: float = 50.0
    window: float = 60.0
    minimum_calls: int = 20


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """An HTTP probe of the target's health (see docs/breakers.md)."""

    url: str
    method: str = "GET"
    expect_status: tuple[int, ...] = (200,)
    interval: float = 10.0
    timeout: float = 5.0
    healthy_threshold: int = 1
    unhealthy_threshold: int = 2
    while_closed: bool = False


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """One breaker's configuration; only `target` is required.

    Parameters:
        target: the ARN whose deliveries the breaker guards (an API destination, a connection: all of its
            destinations, a function, a queue, a bus, a topic).
        failure_threshold: consecutive counted failures that open it. failure_rate: an optional rate that also does.
        open_seconds, max_open_seconds: how long it stays open; doubled after each failed probe, up to the max.
        resume_rate: parked deliveries resumed per second on closing (None: the API destination's
            InvocationRateLimitPerSecond, else `DEFAULT_RESUME_RATE`).
        resume_concurrency: resumed deliveries in flight at once (1: strictly in first-accepted order).
        health_check: the HTTP probe, or None (a parked delivery is then the probe).
        park_retention: seconds after its event was accepted that a parked delivery is dead-lettered.
    """

    target: str
    failure_threshold: int = 5
    failure_rate: FailureRate | None = None
    open_seconds: float = 30.0
    max_open_seconds: float = 600.0
    resume_rate: float | None = None
    resume_concurrency: int = 1
    health_check: HealthCheck | None = None
    park_retention: float = PARK_RETENTION

    @classmethod
    def from_api(cls, body: Any) -> BreakerConfig:
        if not isinstance(body, dict):
            raise BreakerConfigError("The body must be a JSON object.")
        known = {
            "Target",
            "FailureThreshold",
            "FailureRate",
            "OpenSeconds",
            "MaxOpenSeconds",
            "ResumeRatePerSecond",
            "ResumeConcurrency",
            "HealthCheck",
            "ParkRetentionSeconds",
        }
        unknown = sorted(set(body) - known - _READ_ONLY)
        if unknown:
            raise BreakerConfigError(f"Unknown member {unknown[0]}.")
        target = body.get("Target")
        if not isinstance(target, str) or not target:
            raise BreakerConfigError("Target (the ARN of the target the breaker guards) is required.")
        if len(target) > 1600 or not TARGET.fullmatch(target):
            raise BreakerConfigError(
                f"Target {target[:200]!r} is not the ARN of an API destination, a connection, a function, a queue, "
                "a bus or a topic."
            )
        open_seconds = _number(body, "OpenSeconds", 30.0, 1, 86_400)
        max_open = _number(body, "MaxOpenSeconds", max(600.0, open_seconds), 1, 86_400 * 7)
        if max_open < open_seconds:
            raise BreakerConfigError("MaxOpenSeconds must be at least OpenSeconds.")
        rate = body.get("ResumeRatePerSecond")
        return cls(
            target=target,
            failure_threshold=int(_number(body, "FailureThreshold", 5, 1, 10_000, integer=True)),
            failure_rate=_failure_rate(body.get("FailureRate")),
            open_seconds=open_seconds,
            max_open_seconds=max_open,
            resume_rate=None if rate is None else _number(body, "ResumeRatePerSecond", 1, 0.01, 100_000),
            resume_concurrency=int(_number(body, "ResumeConcurrency", 1, 1, 1000, integer=True)),
            health_check=_health_check(body.get("HealthCheck")),
            park_retention=_number(body, "ParkRetentionSeconds", PARK_RETENTION, 1, 365 * 86_400),
        )

    def to_api(self) -> JSON:
        out: JSON = {
            "Target": self.target,
            "FailureThreshold": self.failure_threshold,
            "OpenSeconds": self.open_seconds,
            "MaxOpenSeconds": self.max_open_seconds,
            "ParkRetentionSeconds": self.park_retention,
        }
        if self.failure_rate is not None:
            rate = self.failure_rate
            out["FailureRate"] = {
                "Percent": rate.percent,
                "WindowSeconds": rate.window,
                "MinimumCalls": rate.minimum_calls,
            }
        if self.resume_rate is not None:
            out["ResumeRatePerSecond"] = self.resume_rate
        out["ResumeConcurrency"] = self.resume_concurrency
        if self.health_check is not None:
            check = self.health_check
            out["HealthCheck"] = {
                "Url": check.url,
                "Method": check.method,
                "ExpectStatus": list(check.expect_status),
                "IntervalSeconds": check.interval,
                "TimeoutSeconds": check.timeout,
                "HealthyThreshold": check.healthy_threshold,
                "UnhealthyThreshold": check.unhealthy_threshold,
                "WhileClosed": check.while_closed,
            }
        return out


#: Members of a listed breaker that a client may send back unchanged (they are ignored).
_READ_ONLY = {"Name", "State", "Parked", "Since", "Reason"}


def _number(
    body: JSON, name: str, default: float, low: float, high: float, *, integer: bool = False
) -> float:
    value = body.get(name)
    if value is None:
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        kind = "an integer" if integer else "a number"
        raise BreakerConfigError(f"{name} must be {kind}.")
    if not low <= value <= high:
        raise BreakerConfigError(f"{name} must be between {low:g} and {high:g}.")
    return float(value)


def _failure_rate(raw: Any) -> FailureRate | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BreakerConfigError("FailureRate must be an object.")
    unknown = sorted(set(raw) - {"Percent", "WindowSeconds", "MinimumCalls"})
    if unknown:
        raise BreakerConfigError(f"Unknown member FailureRate.{unknown[0]}.")
    return FailureRate(
        percent=_number(raw, "Percent", 50.0, 1, 100),
        window=_number(raw, "WindowSeconds", 60.0, 1, 86_400),
        minimum_calls=int(_number(raw, "MinimumCalls", 20, 1, 1_000_000, integer=True)),
    )


def _health_check(raw: Any) -> HealthCheck | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BreakerConfigError("HealthCheck must be an object.")
    members = {
        "Url",
        "Method",
        "ExpectStatus",
        "IntervalSeconds",
        "TimeoutSeconds",
        "HealthyThreshold",
        "UnhealthyThreshold",
        "WhileClosed",
    }
    unknown = sorted(set(raw) - members)
    if unknown:
        raise BreakerConfigError(f"Unknown member HealthCheck.{unknown[0]}.")
    url = raw.get("Url")
    if not isinstance(url, str) or not re.fullmatch(r"https?://[^\s]{1,2000}", url):
        raise BreakerConfigError("HealthCheck.Url must be an http:// or https:// URL.")
    method = raw.get("Method", "GET")
    if method not in ("GET", "HEAD", "POST", "PUT", "OPTIONS"):
        raise BreakerConfigError("HealthCheck.Method must be one of GET, HEAD, POST, PUT, OPTIONS.")
    expect = raw.get("ExpectStatus", [200])
    if (
        not isinstance(expect, list)
        or not expect
        or len(expect) > 50
        or not all(isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in expect)
    ):
        raise BreakerConfigError("HealthCheck.ExpectStatus must be a list of HTTP status codes (100-599).")
    while_closed = raw.get("WhileClosed", False)
    if not isinstance(while_closed, bool):
        raise BreakerConfigError("HealthCheck.WhileClosed must be a boolean.")
    return HealthCheck(
        url=url,
        method=method,
        expect_status=tuple(expect),
        interval=_number(raw, "IntervalSeconds", 10.0, 0.1, 86_400),
        timeout=_number(raw, "TimeoutSeconds", 5.0, 0.1, 300),
        healthy_threshold=int(_number(raw, "HealthyThreshold", 1, 1, 100, integer=True)),
        unhealthy_threshold=int(_number(raw, "UnhealthyThreshold", 2, 1, 100, integer=True)),
        while_closed=while_closed,
    )
