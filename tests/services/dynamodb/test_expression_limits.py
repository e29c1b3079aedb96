"""Bounded work per DynamoDB expression: parsing and set updates linear in their input, evaluation depth independent
of how long a chain of AND/OR/NOT is. Measured by counting function calls (deterministic), never by timing."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from pipework.services.dynamodb.expressions import Expressions, apply_update, evaluate


def calls_during(work: Callable[[], Any]) -> int:
    """How many Python and C function calls `work()` makes."""
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return count


def grows_linearly(work_for: Callable[[int], Callable[[], Any]], n: int) -> bool:
    """Doubling the input at most (about) doubles the calls; quadratic work would quadruple them."""
    small, large = calls_during(work_for(n)), calls_during(work_for(2 * n))
    return large < 2.5 * small


def test_projection_parsing_is_linear_in_the_number_of_paths() -> None:
    def parse(n: int) -> Callable[[], Any]:
        text = ", ".join(f"p{i}" for i in range(n))
        return lambda: Expressions(None, None).projection(text)

    assert grows_linearly(parse, 300)


def test_update_parsing_is_linear_in_the_number_of_actions() -> None:
    def parse(n: int) -> Callable[[], Any]:
        text = "SET " + ", ".join(f"p{i} = :v" for i in range(n))
        return lambda: Expressions(None, {":v": {"N": "1"}}).update(text)

    assert grows_linearly(parse, 150)


def test_set_add_and_delete_are_linear_in_the_set_sizes() -> None:
    def update(n: int) -> Callable[[], Any]:
        item = {"pk": {"S": "a"}, "s": {"NS": [str(i) for i in range(n)]}}
        exprs = Expressions(
            None, {":more": {"NS": [str(i) for i in range(n, 2 * n)]}, ":less": {"NS": ["0"]}}
        )
        actions = exprs.update("ADD s :more DELETE t :less")
        return lambda: apply_update(item, actions)

    assert grows_linearly(update, 2000)


def evaluate_with_little_stack(condition: Any, item: dict[str, Any], frames: int = 60) -> bool:
    """Evaluate with only `frames` Python frames to spare: a recursion per operator would not fit."""
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + frames)
    try:
        return evaluate(condition, item)
    finally:
        sys.setrecursionlimit(limit)


def test_long_and_or_not_chains_evaluate_without_recursing_per_operator() -> None:
    values = {":v": {"N": "1"}}
    item = {"a": {"N": "1"}}
    conjunction = Expressions(None, values).condition(" AND ".join(["a=:v"] * 400))
    disjunction = Expressions(None, values).condition(" OR ".join(["b=:v"] * 399 + ["a=:v"]))
    negations = Expressions(None, values).condition("NOT " * 800 + "a = :v")
    assert evaluate_with_little_stack(conjunction, item)
    assert evaluate_with_little_stack(disjunction, item)
    assert evaluate_with_little_stack(negations, item)  # an even number of NOTs
    assert not evaluate_with_little_stack(Expressions(None, values).condition("NOT " * 801 + "a = :v"), item)
