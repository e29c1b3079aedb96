"""What happens when an alarm changes state: the alarm and its history are written, AWS's ``CloudWatch Alarm State
Change`` event goes on the default bus of the alarm's account and region, the actions of the new state run (when
ActionsEnabled), and the composite alarms of the region follow. Each action run is an ``Action`` history item;
a failed one says why (an SNS topic that does not exist, a function that raised, ...).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import orjson

from pipework.clock import Clock
from pipework.connectors.targets import Message, TargetError
from pipework.connectors.targets.registry import Targets
from pipework.store.base import Store

from . import composite, model
from .evaluation import reason_data_text

log = logging.getLogger("pipework.cloudwatch")


class AlarmChanges:
    """State changes of the alarms in `by_region` (the `Alarms` mixin's side that writes and notifies)."""

    store: Store
    clock: Clock
    targets: Targets
    lock: asyncio.Lock
    by_region: dict[tuple[str, str], dict[str, dict[str, Any]]]

    def here(self, account: str, region: str) -> dict[str, dict[str, Any]]:
        return self.by_region.setdefault((account, region), {})

    async def _save(self, alarm: dict[str, Any]) -> None:
        key = model.alarm_key(alarm["Account"], alarm["Region"], alarm["AlarmName"])
        await self.store.put_resource(model.ALARMS, key, alarm)

    async def transition(
        self,
        alarm: dict[str, Any],
        state: str,
        reason: str,
        reason_data: str | None,
        *,
        composites: bool = True,
    ) -> None:
        """Move `alarm` to `state` (call with the lock held): write it and its history, put the state-change event,
        run the new state's actions, and re-evaluate the composite alarms of its region."""
        now = self.clock.now()
        previous = {
            "value": alarm["StateValue"],
            "reason": alarm.get("StateReason", ""),
            "timestamp": model.iso(alarm.get("StateUpdatedTimestamp", now)),
        }
        if alarm.get("StateReasonData"):
            previous["reasonData"] = alarm["StateReasonData"]
        changed = alarm["StateValue"] != state
        alarm["StateValue"] = state
        alarm["StateReason"] = reason
        if reason_data is not None:
            alarm["StateReasonData"] = reason_data
        else:
            alarm.pop("StateReasonData", None)
        alarm["StateUpdatedTimestamp"] = now
        if changed:
            alarm["StateTransitionedTimestamp"] = now
        await self._save(alarm)
        if not changed:
            return
        history_data: dict[str, Any] = {
            "version": "1.0",
            "oldState": {"stateValue": previous["value"], "stateReason": previous["reason"]},
            "newState": {"stateValue": state, "stateReason": reason},
        }
        if reason_data is not None:
            history_data["newState"]["stateReasonData"] = orjson.loads(reason_data)
        await self._history(
            alarm, "StateUpdate", f"Alarm updated from {previous['value']} to {state}", history_data, now
        )
        current: dict[str, Any] = {"value": state, "reason": reason, "timestamp": model.iso(now)}
        if reason_data is not None:
            current["reasonData"] = reason_data
        detail = {
            "alarmName": alarm["AlarmName"],
            "state": current,
            "previousState": previous,
            "configuration": model.configuration(alarm),
        }
        await self._put_event(alarm, detail, now)
        if alarm["ActionsEnabled"]:
            for arn in model.actions_for(alarm, state):
                await self._run_action(alarm, arn, detail, previous["value"], now)
        if composites:
            await self.evaluate_composites(alarm["Account"], alarm["Region"])

    async def evaluate_composites(self, account: str, region: str) -> None:
        """Bring every composite alarm of the region to what its rule says (call with the lock held)."""
        alarms = self.here(account, region)
        for _ in range(10):  # composites of composites settle within their depth; the loop bounds a cycle
            moved = False
            for alarm in sorted(alarms.values(), key=lambda a: a["AlarmName"]):
                if alarm["AlarmType"] != "CompositeAlarm":
                    continue
                rule = composite.parse(alarm["AlarmRule"])

                def state_of(name: str) -> str | None:
                    other = alarms.get(name)
                    return other["StateValue"] if other else None

                state = "ALARM" if composite.holds(rule, state_of) else "OK"
                if state == alarm["StateValue"]:
                    continue
                triggering = sorted(composite.alarms_of(rule) & set(alarms))
                reason = (
                    "arn:aws:cloudwatch:{r}:{a}:alarm:{n} transitioned to {s} at {t}".format(
                        r=region,
                        a=account,
                        n=triggering[0],
                        s=alarms[triggering[0]]["StateValue"],
                        t=model.iso(self.clock.now()),
                    )
                    if triggering
                    else f"The alarm rule {alarm['AlarmRule']} evaluated to {state == 'ALARM'}."
                )
                data = {
                    "triggeringAlarms": [
                        {"arn": alarms[n]["AlarmArn"], "state": {"value": alarms[n]["StateValue"]}}
                        for n in triggering
                    ]
                }
                await self.transition(alarm, state, reason, reason_data_text(data), composites=False)
                moved = True
            if not moved:
                return

    async def _put_event(self, alarm: dict[str, Any], detail: dict[str, Any], now: float) -> None:
        account, region = alarm["Account"], alarm["Region"]
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "account": account,
            "time": model.iso(now)[:19] + "Z",
            "region": region,
            "resources": [alarm["AlarmArn"]],
            "detail": detail,
        }
        bus = f"arn:aws:events:{region}:{account}:event-bus/default"
        try:
            await self.targets.send_one(bus, Message(event=event, account=account, region=region))
        except TargetError as exc:
            log.warning("the state-change event of alarm %s was not put: %s", alarm["AlarmName"], exc)

    async def _run_action(
        self, alarm: dict[str, Any], arn: str, detail: dict[str, Any], old_state: str, now: float
    ) -> None:
        service = arn.split(":")[2]
        if service == "events":
            message = Message(
                event={
                    "version": "0",
                    "id": str(uuid.uuid4()),
                    "detail-type": "CloudWatch Alarm State Change",
                    "source": "aws.cloudwatch",
                    "account": alarm["Account"],
                    "time": model.iso(now)[:19] + "Z",
                    "region": alarm["Region"],
                    "resources": [alarm["AlarmArn"]],
                    "detail": detail,
                }
            )
        elif service == "lambda":
            message = Message(
                {
                    "source": "aws.cloudwatch",
                    "alarmArn": alarm["AlarmArn"],
                    "accountId": alarm["Account"],
                    "time": model.iso(now),
                    "region": alarm["Region"],
                    "alarmData": detail,
                }
            )
        else:
            message = Message(
                orjson.dumps(_notification(alarm, old_state, now)).decode(),
                account=alarm["Account"],
                region=alarm["Region"],
            )
        try:
            await self.targets.send_one(arn, message)
        except TargetError as exc:
            data = {
                "actionState": "Failed",
                "stateUpdateTimestamp": int(now * 1000),
                "notificationResource": arn,
                "error": f"{exc.code}: {exc.message}",
            }
            await self._history(
                alarm, "Action", f'Failed to execute action {arn}. Received error: "{exc.message}"', data, now
            )
            return
        except Exception as exc:  # an action must never stop the evaluation of other alarms
            log.exception("action %s of alarm %s failed", arn, alarm["AlarmName"])
            data = {"actionState": "Failed", "notificationResource": arn, "error": str(exc)}
            await self._history(alarm, "Action", f"Failed to execute action {arn}.", data, now)
            return
        data = {
            "actionState": "Succeeded",
            "stateUpdateTimestamp": int(now * 1000),
            "notificationResource": arn,
        }
        await self._history(alarm, "Action", f"Successfully executed action {arn}", data, now)

    async def _configuration_history(self, alarm: dict[str, Any], *, created: bool) -> None:
        name = alarm["AlarmName"]
        shown = orjson.loads(orjson.dumps(model.to_api(alarm), default=str))
        data = {"version": "1.0", "type": "Create" if created else "Update"}
        data["createdAlarm" if created else "updatedAlarm"] = shown
        summary = f'Alarm "{name}" {"created" if created else "updated"}'
        await self._history(alarm, "ConfigurationUpdate", summary, data, self.clock.now())

    async def _history(
        self, alarm: dict[str, Any], kind: str, summary: str, data: dict[str, Any], now: float
    ) -> None:
        item = {
            "AlarmName": alarm["AlarmName"],
            "AlarmType": alarm["AlarmType"],
            "Timestamp": now,
            "HistoryItemType": kind,
            "HistorySummary": summary,
            "HistoryData": orjson.dumps(data).decode(),
        }
        log_name = model.history_log(alarm["Account"], alarm["Region"])
        await self.store.append(log_name, orjson.dumps(item), time=now, key=alarm["AlarmName"])

    async def trim_history(self) -> None:
        before = self.clock.now() - model.HISTORY_RETENTION
        for account, region in list(self.by_region):
            await self.store.trim_log(model.history_log(account, region), before=before)


def _notification(alarm: dict[str, Any], old_state: str, now: float) -> dict[str, Any]:
    """The message an SNS alarm action publishes (AWS's shape)."""
    trigger: dict[str, Any] = {
        "MetricName": alarm.get("MetricName"),
        "Namespace": alarm.get("Namespace"),
        "StatisticType": "ExtendedStatistic" if alarm.get("ExtendedStatistic") else "Statistic",
        "Statistic": (alarm.get("Statistic") or "").upper() or None,
        "Unit": alarm.get("Unit"),
        "Dimensions": [{"value": d["Value"], "name": d["Name"]} for d in alarm.get("Dimensions") or ()],
        "Period": alarm.get("Period"),
        "EvaluationPeriods": alarm.get("EvaluationPeriods"),
        "DatapointsToAlarm": alarm.get("DatapointsToAlarm"),
        "ComparisonOperator": alarm.get("ComparisonOperator"),
        "Threshold": alarm.get("Threshold"),
        "TreatMissingData": alarm.get("TreatMissingData"),
        "EvaluateLowSampleCountPercentile": alarm.get("EvaluateLowSampleCountPercentile", ""),
    }
    return {
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": alarm["Account"],
        "AlarmConfigurationUpdatedTimestamp": model.iso(alarm["AlarmConfigurationUpdatedTimestamp"]),
        "NewStateValue": alarm["StateValue"],
        "NewStateReason": alarm.get("StateReason"),
        "StateChangeTime": model.iso(now),
        "Region": alarm["Region"],
        "AlarmArn": alarm["AlarmArn"],
        "OldStateValue": old_state,
        "OKActions": alarm.get("OKActions", []),
        "AlarmActions": alarm.get("AlarmActions", []),
        "InsufficientDataActions": alarm.get("InsufficientDataActions", []),
        "Trigger": trigger,
    }
