"""`Matcher`: many named rules compiled into one state machine, walked once per event.

Each subrule is a sequence of fields (most selective first). Subrules that start alike share states, and a state
branches on a field path through a `ValueIndex` that maps a leaf value to the next states in one lookup, as in
aws/event-ruler. An event is walked from the start state, following only the transitions its leaves satisfy; so
the cost of a match grows with the event and with the states it reaches, not with the number of rules.
Fields that cannot drive a transition (``exists: false``) and array consistency are checked on the subrules
reached, with the same `evaluate` that single patterns use.
"""

from __future__ import annotations

from typing import Any

from .compile import CompiledPattern, Leaves, PathTrie, compile_pattern, evaluate, event_leaves, load_event
from .conditions import Field
from .index import ValueIndex, selectivity
from .parse import Subrule

_START = 0


class _State:
    __slots__ = ("edges", "refs", "terminal", "transitions")

    def __init__(self) -> None:
        self.transitions: dict[str, ValueIndex] = {}  # path -> values -> next states
        self.edges: dict[tuple[str, Field], int] = {}  # (path, field) -> next state, to share prefixes
        self.terminal: list[int] = []  # subrules that are complete in this state
        self.refs = 0  # subrules passing through this state


class _Plan:
    """How a subrule sits in the machine: its states, and what is left to verify when it is reached."""

    __slots__ = ("fields", "name", "paths", "states", "verify")

    def __init__(self, name: str, fields: list[Field], paths: frozenset[str], verify: bool) -> None:
        self.name = name
        self.fields = fields  # the fields that are transitions, in machine order
        self.paths = (
            paths  # paths of the transition fields (array consistency is checked when they carry trails)
        )
        self.verify = verify  # some field is not a transition: always evaluate the whole subrule
        self.states: list[int] = []


class Matcher:
    """A set of named rules matched together: ``add(name, pattern)``, ``remove(name)``, ``match(event)``.

    Adding a name that exists replaces its pattern. ``match`` returns the sorted names of all rules that match.
    Not safe for concurrent mutation and matching from several threads; build a new Matcher and swap instead.
    """

    def __init__(self) -> None:
        self._trie = PathTrie()
        self._states: dict[int, _State] = {_START: _State()}
        self._next_state = 1
        self._subrules: dict[int, Subrule] = {}
        self._plans: dict[int, _Plan] = {}
        self._unkeyed: set[int] = set()  # subrules with no transition: evaluated on every event
        self._rules: dict[str, tuple[CompiledPattern, list[int]]] = {}
        self._next_sub = 0

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, name: object) -> bool:
        return name in self._rules

    @property
    def names(self) -> list[str]:
        return list(self._rules)

    def add(self, name: str, pattern: str | bytes | dict[str, Any] | CompiledPattern) -> None:
        """Add (or replace) rule ``name``; raises `InvalidPatternError` and leaves the matcher unchanged."""
        compiled = compile_pattern(pattern)
        if name in self._rules:
            self.remove(name)
        ids = [self._add_subrule(name, sub) for sub in compiled.subrules]
        self._rules[name] = (compiled, ids)

    def remove(self, name: str) -> None:
        """Remove rule ``name``; a name that is not there is ignored."""
        entry = self._rules.pop(name, None)
        if entry is None:
            return
        for sub_id in entry[1]:
            self._remove_subrule(sub_id)

    # -- building ----------------------------------------------------------------------------------------------
    def _add_subrule(self, name: str, sub: Subrule) -> int:
        sub_id = self._next_sub
        self._next_sub += 1
        self._subrules[sub_id] = sub
        for field in sub:
            self._trie.add(field.path)
        transitions = sorted(
            (f for f in sub if f.positive and not f.exists_false),
            key=lambda f: (selectivity(f), f.path, repr(f.conditions)),
        )
        plan = _Plan(name, transitions, frozenset(f.path for f in transitions), len(transitions) < len(sub))
        self._plans[sub_id] = plan
        if not transitions:
            self._unkeyed.add(sub_id)
            return sub_id
        state_id = _START
        for field in transitions:
            state = self._states[state_id]
            state.refs += 1
            plan.states.append(state_id)
            edge = (field.path, field)
            next_id = state.edges.get(edge)
            if next_id is None:
                next_id = self._next_state
                self._next_state += 1
                self._states[next_id] = _State()
                state.edges[edge] = next_id
                index = state.transitions.get(field.path)
                if index is None:
                    index = state.transitions[field.path] = ValueIndex()
                index.add(field, next_id)
            state_id = next_id
        last = self._states[state_id]
        last.refs += 1
        last.terminal.append(sub_id)
        plan.states.append(state_id)
        return sub_id

    def _remove_subrule(self, sub_id: int) -> None:
        sub = self._subrules.pop(sub_id)
        plan = self._plans.pop(sub_id)
        self._unkeyed.discard(sub_id)
        for field in sub:
            self._trie.remove(field.path)
        if not plan.states:
            return
        self._states[plan.states[-1]].terminal.remove(sub_id)
        # Walk back: a state no subrule passes through any more is dropped with the edge that led to it.
        for position in range(len(plan.states) - 1, -1, -1):
            state_id = plan.states[position]
            state = self._states[state_id]
            state.refs -= 1
            if state.refs == 0 and state_id != _START:
                del self._states[state_id]
                parent = self._states[plan.states[position - 1]]
                field = plan.fields[position - 1]
                del parent.edges[(field.path, field)]
                index = parent.transitions[field.path]
                index.remove(field, state_id)
                if not index.size:
                    del parent.transitions[field.path]

    # -- matching ----------------------------------------------------------------------------------------------
    def match(self, event: str | bytes | dict[str, Any]) -> list[str]:
        """The names of all rules ``event`` matches (sorted). Text that is not JSON raises `InvalidEventError`."""
        obj = load_event(event)
        if type(obj) is not dict or not self._rules:
            return []
        return self.match_leaves(event_leaves(self._trie, obj))

    def match_leaves(self, leaves: Leaves) -> list[str]:
        """The names of the rules matched by an event's leaves (as `PathTrie.leaves` collects them)."""
        states = self._states
        reached: list[int] = []
        stack = [_START]
        seen = {_START}
        while stack:
            state = states[stack.pop()]
            if state.terminal:
                reached.extend(state.terminal)
            transitions = state.transitions
            if not transitions:
                continue
            found_states: set[int] = set()
            if len(transitions) <= len(leaves):
                for path, index in transitions.items():
                    found = leaves.get(path)
                    if found:
                        for value, _trail in found:
                            index.lookup(value, found_states)
            else:
                for path, found in leaves.items():
                    maybe = transitions.get(path)
                    if maybe is not None:
                        for value, _trail in found:
                            maybe.lookup(value, found_states)
            for next_id in found_states:
                if next_id not in seen:
                    seen.add(next_id)
                    stack.append(next_id)
        if self._unkeyed:
            reached.extend(self._unkeyed)
        if not reached:
            return []
        matched: set[str] = set()
        plans = self._plans
        trailed: set[str] | None = None
        for sub_id in reached:
            plan = plans[sub_id]
            if plan.name in matched:
                continue
            if not plan.verify and len(plan.fields) > 1:
                # Leaves inside arrays of objects: the fields must also agree on the array elements.
                if trailed is None:
                    trailed = {path for path, found in leaves.items() if any(t for _, t in found)}
                check = bool(trailed) and not plan.paths.isdisjoint(trailed)
            else:
                check = plan.verify
            if not check or evaluate(self._subrules[sub_id], leaves):
                matched.add(plan.name)
        return sorted(matched)
