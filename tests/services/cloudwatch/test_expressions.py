"""Metric math, one row per rule: arithmetic between series and numbers, the reducers of one series and of
several, FILL's three modes, METRICS() with a label filter, and errors for what does not parse."""

from __future__ import annotations

import pytest

from pipework.services.cloudwatch.expressions import ExpressionError, Scope, evaluate, parse

A = {0.0: 1.0, 60.0: 2.0}
B = {0.0: 10.0, 120.0: 30.0}
SCOPE = Scope({"a": A, "b": B}, [("load a", A), ("spare b", B)], [0.0, 60.0, 120.0])


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("a + b", {0.0: 11.0}),  # two series: their common timestamps
        ("a * 2 - 1", {0.0: 1.0, 60.0: 3.0}),
        ("-a", {0.0: -1.0, 60.0: -2.0}),
        ("b / (a - 1)", {}),  # a division by zero leaves the point out
        ("SUM(a)", 3.0),  # one series: a number
        ("AVG(b)", 20.0),
        ("MAX(METRICS())", {0.0: 10.0, 60.0: 2.0, 120.0: 30.0}),  # several: per timestamp
        ('SUM(METRICS("load"))', {0.0: 1.0, 60.0: 2.0}),
        ("MIN([a, b])", {0.0: 1.0, 60.0: 2.0, 120.0: 30.0}),
        ("FILL(a, 0)", {0.0: 1.0, 60.0: 2.0, 120.0: 0.0}),
        ("FILL(b, REPEAT)", {0.0: 10.0, 60.0: 10.0, 120.0: 30.0}),
        ("FILL(b, LINEAR)", {0.0: 10.0, 60.0: 20.0, 120.0: 30.0}),
        ("2 * 3 + 1", 7.0),
    ],
)
def test_metric_math(expression: str, value: object) -> None:
    assert evaluate(parse(expression), SCOPE) == value


@pytest.mark.parametrize(
    "expression", ["a +", "(a", "STDDEV(a)", "a $ b", "FILL(a)", "METRICS(a)", "(" * 5000 + "a"]
)
def test_what_cloudwatch_would_refuse_raises_an_expression_error(expression: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(parse(expression), SCOPE)
