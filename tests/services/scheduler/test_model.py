"""`Schedule` and `ScheduleGroup`: every stored body loads (those an older version wrote included, from
tests/store/data/v0_pipes_scheduler.sql) and is stored again unchanged; what the API shows has no internal keys."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipework.services.scheduler import model
from pipework.services.scheduler.model import Schedule, ScheduleGroup

V0 = Path(__file__).parents[2] / "store" / "data" / "v0_pipes_scheduler.sql"


def stored(kind: str) -> list[dict[str, Any]]:
    connection = sqlite3.connect(":memory:")
    connection.executescript(V0.read_text())
    rows = connection.execute("SELECT body FROM resources WHERE kind = ? ORDER BY name", (kind,)).fetchall()
    connection.close()
    return [orjson.loads(body) for (body,) in rows]


OLD_SCHEDULES = stored(model.KIND_SCHEDULE)
OLD_GROUPS = stored(model.KIND_GROUP)


def test_the_old_data_has_schedules_and_groups() -> None:
    assert len(OLD_SCHEDULES) >= 3 and len(OLD_GROUPS) >= 2


@pytest.mark.parametrize("body", OLD_SCHEDULES, ids=[b["Name"] for b in OLD_SCHEDULES])
def test_an_old_stored_schedule_loads_and_is_stored_again_unchanged(body: dict[str, Any]) -> None:
    schedule = Schedule.from_store(body)
    assert schedule.generation == body["_generation"] and schedule.anchor == body["_anchor"]
    assert schedule.to_store() == body
    assert schedule.to_api() == {k: v for k, v in body.items() if not k.startswith("_")}


@pytest.mark.parametrize("body", OLD_GROUPS, ids=[b["Name"] for b in OLD_GROUPS])
def test_an_old_stored_group_loads_and_is_stored_again_unchanged(body: dict[str, Any]) -> None:
    group = ScheduleGroup.from_store(body)
    assert group.to_store() == body
    assert group.to_api() == {k: v for k, v in body.items() if not k.startswith("_") and k != "Tags"}


def test_a_schedule_from_the_api_takes_the_defaults_and_keeps_internals_out_of_the_api() -> None:
    params = {
        "Name": "nightly",
        "ScheduleExpression": "cron(0 3 * * ? *)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": "arn:aws:lambda:us-east-1:000000000000:function:f", "RoleArn": "r"},
        "ClientToken": "t",
    }
    arn = model.Arns("us-east-1", "000000000000").schedule("default", "nightly")
    schedule = Schedule.from_api(
        params, arn=arn, group="default", now=10.0, created=5.0, generation=2, create_token="t"
    )
    assert schedule.to_api() == {
        "Arn": arn,
        "Name": "nightly",
        "GroupName": "default",
        "ScheduleExpression": "cron(0 3 * * ? *)",
        "ScheduleExpressionTimezone": "UTC",
        "State": "ENABLED",
        "Target": {**params["Target"], "RetryPolicy": model.DEFAULT_RETRY_POLICY},
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "NONE",
        "CreationDate": 5.0,
        "LastModificationDate": 10.0,
    }
    assert Schedule.from_store(schedule.to_store()) == schedule
    assert {k for k in schedule.to_store() if k.startswith("_")} == {
        "_generation",
        "_anchor",
        "_create_token",
    }
