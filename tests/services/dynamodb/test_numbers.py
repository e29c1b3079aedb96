"""Number attributes: the integer fast path of `canonical_number` gives exactly what the Decimal path gives."""

from __future__ import annotations

import pytest

from pipework.services.dynamodb.errors import ValidationError
from pipework.services.dynamodb.values import canonical_number, format_number, parse_number

CASES = [
    "0",
    "-0",
    "1",
    "-1",
    "7",
    "10",
    "100",
    "-250",
    "007",
    "-007",
    "1" * 38,
    "-" + "9" * 38,
    "1" * 39,
    "1e2",
    "1.50",
    "0.0",
    " 5",
    "5 ",
    "+5",
    "1E+126",
    "1E-131",
    "",
    "abc",
    "Infinity",
    "NaN",
    "12345678901234567890",
]


def slow(text: str) -> str:
    return format_number(parse_number(text))


@pytest.mark.parametrize("text", CASES)
def test_canonical_number_matches_the_decimal_path(text: str) -> None:
    try:
        expected: str | type[Exception] = slow(text)
    except ValidationError:
        expected = ValidationError
    if expected is ValidationError:
        with pytest.raises(ValidationError):
            canonical_number(text)
    else:
        assert canonical_number(text) == expected
