"""The router: each bus's enabled rules compiled into one `Matcher`, and the deliveries an event produces.

`Router` holds the rule definitions of every bus in memory (the service keeps it in step with the store) and
answers, for an event put on a bus, which (rule, target) pairs must receive it. Rules added or changed apply to
the next event routed.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipework.jsontypes import JSON
from pipework.patterns import Matcher


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one target of one rule."""

    bus: str
    rule_name: str
    rule_arn: str
    target: JSON  # the target as PutTargets stored it


class _BusRules:
    __slots__ = ("matcher", "rules")

    def __init__(self) -> None:
        self.matcher = Matcher()
        self.rules: dict[str, JSON] = {}  # rule name -> rule body (with its Targets)


class Router:
    """Rules per bus, matched with one compiled `Matcher` per bus."""

    def __init__(self) -> None:
        self._buses: dict[str, _BusRules] = {}

    def set_rule(self, bus: str, rule: JSON) -> None:
        """Add or replace a rule (its body as stored: Name, Arn, EventPattern, State, Targets, ...)."""
        rules = self._buses.setdefault(bus, _BusRules())
        name = rule["Name"]
        rules.rules[name] = rule
        pattern = rule.get("EventPattern")
        if pattern and rule.get("State", "ENABLED") != "DISABLED":
            rules.matcher.add(name, pattern)
        else:
            rules.matcher.remove(name)  # a disabled rule, or a schedule-only rule, matches no event

    def remove_rule(self, bus: str, name: str) -> None:
        rules = self._buses.get(bus)
        if rules is not None:
            rules.rules.pop(name, None)
            rules.matcher.remove(name)

    def remove_bus(self, bus: str) -> None:
        self._buses.pop(bus, None)

    def rule(self, bus: str, name: str) -> JSON | None:
        rules = self._buses.get(bus)
        return rules.rules.get(name) if rules else None

    def matching_rules(self, bus: str, event: JSON, *, only: frozenset[str] | None = None) -> list[JSON]:
        """The enabled rules of ``bus`` that ``event`` matches (restricted to the names in ``only`` if given)."""
        rules = self._buses.get(bus)
        if rules is None:
            return []
        names = rules.matcher.match(event)
        return [rules.rules[n] for n in names if only is None or n in only]

    def route(
        self, bus: str, event: JSON, *, only: frozenset[str] | None = None
    ) -> tuple[list[JSON], list[Delivery]]:
        """The rules ``event`` matches and one delivery per target of each."""
        matched = self.matching_rules(bus, event, only=only)
        deliveries = [
            Delivery(bus, rule["Name"], rule["Arn"], target)
            for rule in matched
            for target in rule.get("Targets", ())
        ]
        return matched, deliveries
