"""Event pattern matching throughput: Pipework's Matcher beside LocalStack's and moto's matchers.

Events are synthetic CityLots features (bench/citylots.py) given to every engine as JSON text, so parsing is part
of the cost. Measured: events/s for each 5-rule set of bench/rulesets.json (modelled on event-ruler's benchmark)
and for 10, 100, 1,000 and 10,000 mixed rules. Every engine's per-rule match counts are checked against a
brute-force reference evaluator written here, independently of the Matcher; the peers are reported where they
disagree with it. Throughput is the median of several runs.

    python bench/patterns.py [--events N] [--runs R] [--smoke] [--no-peers] [--json FILE]

Exit status 1 if Pipework's counts differ from the reference anywhere.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from citylots import STREETS, CityLots
from pipework.patterns import Matcher

RULESETS = Path(__file__).resolve().parent / "rulesets.json"
MIXED_SIZES = (10, 100, 1_000, 10_000)

MatchFn = Callable[[bytes], list[str]]


# -- the reference: a plain recursive reading of the pattern language, slow and obviously right ------------------


def _leaves(value: Any) -> list[Any]:
    """The leaf values at a field: a scalar, or the scalars of a (nested) array; objects are not leaves."""
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    if isinstance(value, dict):
        return []
    return [value]


def _objects(value: Any) -> list[dict[str, Any]]:
    """The objects at a field: an object, or the objects of a (nested) array."""
    if isinstance(value, list):
        return [obj for item in value for obj in _objects(item)]
    if isinstance(value, dict):
        return [value]
    return []


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _wildcard_regex(text: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(text):
        if text[i] == "\\":
            out.append(re.escape(text[i + 1]))
            i += 2
            continue
        out.append(".*" if text[i] == "*" else re.escape(text[i]))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _excluded(kind: str, arg: Any, v: Any) -> bool:
    """Does the anything-but exclusion ``{kind: arg}`` exclude the leaf ``v``?"""
    if not isinstance(v, str):
        return False
    texts = _as_list(arg)
    if kind == "prefix":
        return any(v.startswith(t) for t in texts)
    if kind == "suffix":
        return any(v.endswith(t) for t in texts)
    if kind == "equals-ignore-case":
        return any(v.lower() == t.lower() for t in texts)
    return any(_wildcard_regex(t).fullmatch(v) for t in texts)


def _test(cond: Any, v: Any) -> bool:
    """Does the leaf ``v`` satisfy one match value of a pattern?"""
    if cond is None or isinstance(cond, bool):
        return v is cond
    if isinstance(cond, str):
        return isinstance(v, str) and v == cond
    if _is_number(cond):
        return _is_number(v) and float(v) == float(cond)
    (op, arg) = next(iter(cond.items()))
    if op == "anything-but":
        if isinstance(arg, dict):
            kind, inner = next(iter(arg.items()))
            return not _excluded(kind, inner, v)
        return not any(_test(x, v) for x in _as_list(arg))
    if op == "numeric":
        if not _is_number(v):
            return False
        ok = True
        for sign, bound in zip(arg[::2], arg[1::2]):
            ok = (
                ok
                and {
                    "=": v == bound,
                    "<": v < bound,
                    "<=": v <= bound,
                    ">": v > bound,
                    ">=": v >= bound,
                }[sign]
            )
        return ok
    if not isinstance(v, str):
        return False
    if op in ("prefix", "suffix"):
        if isinstance(arg, dict):
            text, value = arg["equals-ignore-case"].lower(), v.lower()
        else:
            text, value = arg, v
        return value.startswith(text) if op == "prefix" else value.endswith(text)
    if op == "equals-ignore-case":
        return v.lower() == arg.lower()
    if op == "wildcard":
        return _wildcard_regex(arg).fullmatch(v) is not None
    if op == "cidr":
        try:
            return ipaddress.ip_address(v) in ipaddress.ip_network(arg, strict=False)
        except ValueError:
            return False
    raise ValueError(f"reference: unsupported operator {op}")


def reference_match(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Every field of ``pattern`` holds for ``event``; a sub-pattern over an array of objects must hold for one
    element as a whole (that is array consistency)."""
    for key, want in pattern.items():
        if key == "$or" and isinstance(want, list):
            if not any(reference_match(alt, event) for alt in want):
                return False
        elif isinstance(want, dict):
            objects = _objects(event.get(key))
            if not any(reference_match(want, obj) for obj in objects or [{}]):
                return False
        else:
            values = _leaves(event[key]) if key in event else []
            satisfied = False
            for cond in want:
                if isinstance(cond, dict) and "exists" in cond:
                    satisfied = bool(values) == cond["exists"]
                else:
                    satisfied = any(_test(cond, v) for v in values)
                if satisfied:
                    break
            if not satisfied:
                return False
    return True


# -- rule sets -------------------------------------------------------------------------------------------------


def load_rulesets() -> dict[str, list[dict[str, Any]]]:
    data = json.loads(RULESETS.read_text())
    return {name: rules for name, rules in data.items() if not name.startswith("_")}


def mixed_rules(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` rules over every operator, each selective (as real rules are), drawn from the data's vocabulary."""
    rng = random.Random(seed)

    def blklot() -> str:
        return f"{rng.randint(1, 7999):04d}{rng.randint(1, 250):03d}"

    def x() -> float:
        return round(-122.52 + rng.random() * 0.17, 6)

    def any_case(s: str) -> str:
        return "".join(c.lower() if rng.random() < 0.5 else c for c in s)

    makers: list[Callable[[], dict[str, Any]]] = [
        lambda: {"properties": {"MAPBLKLOT": [blklot()]}},
        lambda: {"properties": {"MAPBLKLOT": [{"prefix": blklot()[:5]}], "ST_TYPE": ["ST"]}},
        lambda: {
            "properties": {"BLOCK_NUM": [blklot()[:4]], "STREET": [{"suffix": rng.choice(STREETS)[-2:]}]}
        },
        lambda: {
            "properties": {
                "STREET": [{"equals-ignore-case": any_case(rng.choice(STREETS))}],
                "FROM_ST": [str(rng.randint(0, 3999))],
            }
        },
        lambda: {
            "properties": {"MAPBLKLOT": [{"wildcard": f"{rng.randint(1, 7999):04d}*{rng.randint(0, 9)}"}]}
        },
        lambda: {"properties": {"STREET": [{"prefix": {"equals-ignore-case": any_case(blklot()[:4])}}]}},
        lambda: {"geometry": {"firstCoordinates": {"x": [{"numeric": [">", (lo := x()), "<=", lo + 2e-5]}]}}},
        lambda: {
            "geometry": {
                "type": ["Polygon"],
                "coordinates": {"y": [{"numeric": ["=", round(37.7 + rng.random() * 0.11, 5)]}]},
            }
        },
        lambda: {
            "properties": {"BLOCK_NUM": [blklot()[:4]], "ST_TYPE": [{"anything-but": ["ST", "AVE"]}]},
            "geometry": {"type": [{"anything-but": {"prefix": "Multi"}}]},
        },
        lambda: {
            "$or": [
                {"properties": {"MAPBLKLOT": [blklot()]}},
                {"properties": {"LOT_NUM": [f"{rng.randint(1, 250):03d}"], "BLOCK_NUM": [blklot()[:4]]}},
            ]
        },
        lambda: {
            "properties": {"LOT_NUM": [f"{rng.randint(1, 250):03d}"], "BLOCK_NUM": [blklot()[:4]]},
            "geometry": {"firstCoordinates": {"z": [{"exists": True}]}, "nothing": [{"exists": False}]},
        },
    ]
    return [makers[i % len(makers)]() for i in range(count)]


# -- engines ---------------------------------------------------------------------------------------------------


def pipework_engine(rules: dict[str, dict[str, Any]]) -> MatchFn:
    matcher = Matcher()
    for name, pattern in rules.items():
        matcher.add(name, pattern)
    return matcher.match


def localstack_engine(rules: dict[str, dict[str, Any]]) -> MatchFn:
    from localstack.services.events.event_rule_engine import EventPatternCompiler, EventRuleEngine

    compiler = EventPatternCompiler()
    compiled = [(name, compiler.compile_event_pattern(json.dumps(p))) for name, p in rules.items()]
    evaluate = EventRuleEngine().evaluate_pattern_on_event

    def match(text: bytes) -> list[str]:
        event = json.loads(text)
        return [name for name, pattern in compiled if evaluate(pattern, event)]

    return match


def moto_engine(rules: dict[str, dict[str, Any]]) -> MatchFn:
    from moto.events.models import EventPattern

    loaded = [(name, EventPattern.load(json.dumps(p))) for name, p in rules.items()]

    def match(text: bytes) -> list[str]:
        event = json.loads(text)
        return [name for name, pattern in loaded if pattern.matches_event(event)]

    return match


def reference_engine(rules: dict[str, dict[str, Any]]) -> MatchFn:
    def match(text: bytes) -> list[str]:
        event = json.loads(text)
        return [name for name, pattern in rules.items() if reference_match(pattern, event)]

    return match


ENGINES: dict[str, Callable[[dict[str, dict[str, Any]]], MatchFn]] = {
    "pipework": pipework_engine,
    "localstack": localstack_engine,
    "moto": moto_engine,
}


def available_engines(peers: bool) -> list[str]:
    names = ["pipework"]
    if not peers:
        return names
    for name, module in (
        ("localstack", "localstack.services.events.event_rule_engine"),
        ("moto", "moto.events.models"),
    ):
        saved = dict(os.environ)
        try:
            __import__(module)
        except Exception as exc:  # a peer that is not installed (or broken) is skipped, and said so
            print(
                f"# {name} not available ({type(exc).__name__}: {exc}); benchmarking without it",
                file=sys.stderr,
            )
        else:
            names.append(name)
        finally:
            # Importing LocalStack sets no_proxy (with "[::1]", which httpx cannot parse) in this process.
            os.environ.clear()
            os.environ.update(saved)
    return names


# -- measuring -------------------------------------------------------------------------------------------------


def run(
    match: MatchFn, events: Sequence[bytes], budget: float | None = None
) -> tuple[int, float, dict[str, int]]:
    """Feed events until done (or ``budget`` seconds are spent): (events fed, seconds, matches per rule)."""
    counts: dict[str, int] = {}
    fed = 0
    clock = time.perf_counter
    start = clock()
    for text in events:
        for name in match(text):
            counts[name] = counts.get(name, 0) + 1
        fed += 1
        if budget is not None and not fed % 8 and clock() - start > budget:
            break
    return fed, clock() - start, counts


@dataclass
class Result:
    engine: str
    rates: list[float] = field(default_factory=list)
    checked: int = 0  # events whose per-rule counts were compared with the reference
    mismatches: dict[str, tuple[int, int]] = field(default_factory=dict)  # rule -> (engine, reference)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def measure(
    rules: dict[str, dict[str, Any]],
    events: Sequence[bytes],
    engines: list[str],
    runs: int,
    check_events: int,
    peer_budget: float,
) -> dict[str, Result]:
    reference = reference_engine(rules)
    _, _, expected_all = run(reference, events[:check_events])
    results: dict[str, Result] = {}
    for engine in engines:
        match = ENGINES[engine](rules)
        result = results[engine] = Result(engine)
        # First pass: the counts (and a rate). Pipework sees all events; peers stop at their time budget.
        budget = None if engine == "pipework" else peer_budget
        fed, seconds, counts = run(match, events[:check_events], None if budget is None else 20 * budget)
        if fed < check_events:
            _, _, expected = run(reference, events[:fed])
        else:
            expected = expected_all
        result.checked = fed
        for name in rules:
            if counts.get(name, 0) != expected.get(name, 0):
                result.mismatches[name] = (counts.get(name, 0), expected.get(name, 0))
        for _ in range(runs):
            fed, seconds, _ = run(match, events, budget)
            result.rates.append(fed / seconds)
    return results


# -- reporting -------------------------------------------------------------------------------------------------


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000, help="CityLots events (default 20,000)")
    parser.add_argument(
        "--runs", type=int, default=5, help="timed runs per measurement; the median is reported"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="a few seconds: few events, one run, small rule sets"
    )
    parser.add_argument("--no-peers", action="store_true", help="benchmark Pipework only")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)

    if args.smoke:
        n_events, runs, sizes, peer_budget = min(args.events, 300), 1, (10, 100), 0.05
    else:
        n_events, runs, sizes, peer_budget = args.events, args.runs, MIXED_SIZES, 1.0
    engines = available_engines(not args.no_peers)
    events = CityLots().lines(n_events)
    print(
        f"# {n_events:,} CityLots events ({sum(map(len, events)) // n_events} bytes on average), JSON text; "
        f"median of {runs} run(s); engines: {', '.join(engines)}"
    )

    rows: list[tuple[str, int, dict[str, Result]]] = []
    for name, patterns in load_rulesets().items():
        rules = {f"{name}-{i}": p for i, p in enumerate(patterns)}
        rows.append((name, len(rules), measure(rules, events, engines, runs, n_events, peer_budget)))
    for size in sizes:
        rules = {f"mixed-{i}": p for i, p in enumerate(mixed_rules(size))}
        check = min(n_events, max(50, 100_000 // size))
        rows.append((f"mixed {size:,}", size, measure(rules, events, engines, runs, check, peer_budget)))

    headers = ["rule set", "rules", *(f"{e} ev/s" for e in engines)]
    headers += [f"x {e}" for e in engines[1:]]
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for name, size, results in rows:
        cells = [name, str(size), *(_rate(results[e].median) for e in engines)]
        cells += [f"{results['pipework'].median / results[e].median:.1f}x" for e in engines[1:]]
        print("| " + " | ".join(cells) + " |")

    failed = False
    print()
    for name, _size, results in rows:
        for engine, result in results.items():
            if result.mismatches:
                failed |= engine == "pipework"
                shown = ", ".join(
                    f"{rule}: {got} vs {want}" for rule, (got, want) in sorted(result.mismatches.items())[:5]
                )
                print(
                    f"# DISAGREES with the reference: {engine} on {name} ({result.checked:,} events): {shown}"
                )
    print(f"# pipework {'DISAGREES with' if failed else 'agrees with'} the reference on every set")

    mixed = {size: results["pipework"].median for name, size, results in rows if name.startswith("mixed")}
    if len(mixed) > 1:
        low, high = min(mixed), max(mixed)
        print(f"# pipework {low:,} -> {high:,} rules: throughput falls {mixed[low] / mixed[high]:.2f}x")

    if args.json:
        payload = [
            {
                "set": name,
                "rules": size,
                **{
                    engine: {
                        "median_events_per_s": r.median,
                        "runs": r.rates,
                        "checked_events": r.checked,
                        "mismatches": {k: list(v) for k, v in r.mismatches.items()},
                    }
                    for engine, r in results.items()
                },
            }
            for name, size, results in rows
        ]
        args.json.write_text(json.dumps(payload, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
