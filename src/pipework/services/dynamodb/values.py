"""DynamoDB attribute values: validation as DynamoDB words it, numbers with DynamoDB's 38-digit precision, item size,
equality and ordering. Pure (no I/O).

Inside Pipework an item is the wire form, ``{"name": {"S": "x"}, ...}``, with one difference: binary values (B, BS)
are kept as base64 text, the form they are stored and sent in, and decoded only where bytes matter (comparisons,
sizes). Numbers are kept as canonical text (``"1.50"`` becomes ``"1.5"``).
"""

from __future__ import annotations

import base64
import decimal
import re
from decimal import Decimal
from typing import Any

from .errors import ValidationError, invalid_parameter

Value = dict[str, Any]
Item = dict[str, Value]

TYPES = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")
MAX_ITEM_SIZE = 400 * 1024
MAX_DEPTH = 32

# DynamoDB: up to 38 significant digits, magnitudes 1E-130 .. 9.99...E+125.
NUMBER_CONTEXT = decimal.Context(prec=38, Emin=-128, Emax=126, rounding=decimal.ROUND_HALF_EVEN, traps=[])
_SET_NOUN = {"SS": "string", "NS": "number", "BS": "binary"}


def type_of(value: Value) -> str:
    """The value's type descriptor (S, N, ...)."""
    return next(iter(value))


# ───────────────────────────────────────────────── numbers ─────────────────────────────────────────────────


_WIDE = decimal.Context(prec=1000)
# A plain integer of at most 38 digits without leading zeros is already DynamoDB's canonical text (and in range).
_CANONICAL_INTEGER = re.compile(r"-?[1-9][0-9]{0,37}|0")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_number(text: str) -> Decimal:
    """A number attribute's text as a Decimal, checked against DynamoDB's range and precision."""
    # Python's Decimal also reads "1_000", non-ASCII digits, "NaN" and "Infinity"; DynamoDB reads none of them.
    if type(text) is not str or _NUMBER.fullmatch(text) is None:
        raise ValidationError("A value provided cannot be converted into a number")
    return check_number(Decimal(text))


def check_number(number: Decimal) -> Decimal:
    if number.is_zero():
        return Decimal(0)
    # From the digits and the exponent alone: normalizing 1E+999999999 would overflow any decimal context.
    digits = "".join(map(str, number.as_tuple().digits)).rstrip("0")
    if len(digits) > 38:
        raise ValidationError("Attempting to store more than 38 significant digits in a Number")
    if number.adjusted() >= 126:
        raise ValidationError(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        )
    if number.adjusted() < -130:
        raise ValidationError(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range"
        )
    return number


def format_number(number: Decimal) -> str:
    """DynamoDB's canonical text: no exponent, no leading or trailing zeros ("1.50" -> "1.5", "1e2" -> "100")."""
    if number.is_zero():
        return "0"
    normal = number.normalize(_WIDE)
    text = format(normal, "f")
    return text


def canonical_number(text: str) -> str:
    if type(text) is str and _CANONICAL_INTEGER.fullmatch(text):
        return text
    return format_number(parse_number(text))


def add_numbers(a: str, b: str, subtract: bool = False) -> str:
    """a + b (or a - b) exactly, then checked against DynamoDB's limits (overflow, 38 digits)."""
    with decimal.localcontext(decimal.Context(prec=1000)):
        result = Decimal(a) - Decimal(b) if subtract else Decimal(a) + Decimal(b)
    return format_number(check_number(result))


# ───────────────────────────────────────────────── validation ─────────────────────────────────────────────────


def check_value(value: Any, depth: int = 0) -> Value:
    """Validate one attribute value from a request and return its internal form (canonical numbers, base64
    binaries). Raises `ValidationError` with DynamoDB's messages."""
    if not isinstance(value, dict) or not value:
        raise ValidationError(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )
    if len(value) > 1:
        raise ValidationError(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
        )
    if depth > MAX_DEPTH:
        raise ValidationError("Nesting Levels have exceeded supported limits")
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return {"S": inner}
    if kind == "N":
        return {"N": canonical_number(inner)}
    if kind == "B":
        return {"B": _b64(inner)}
    if kind == "BOOL":
        return {"BOOL": bool(inner)}
    if kind == "NULL":
        if inner is not True:
            raise invalid_parameter("Null attribute value types must have the value of true")
        return {"NULL": True}
    if kind == "M":
        return {"M": {name: check_value(v, depth + 1) for name, v in inner.items()}}
    if kind == "L":
        return {"L": [check_value(v, depth + 1) for v in inner]}
    if kind in _SET_NOUN:
        if not inner:
            raise invalid_parameter(f"An {_SET_NOUN[kind]} set  may not be empty")
        if kind == "SS":
            members = list(inner)
            unique: set[Any] = set(members)
        elif kind == "NS":
            members = [canonical_number(n) for n in inner]
            unique = {Decimal(n) for n in members}
        else:
            members = [_b64(b) for b in inner]
            unique = set(members)
        if len(unique) != len(members):
            raise invalid_parameter(f"Input collection {render(value)} contains duplicates.")
        return {kind: members}
    raise ValidationError(
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
    )


def check_item(item: dict[str, Any]) -> Item:
    return {name: check_value(value) for name, value in item.items()}


def check_values(values: dict[str, Any]) -> Item:
    """ExpressionAttributeValues (":v" -> value)."""
    return {name: check_value(value) for name, value in values.items()}


def _b64(raw: Any) -> str:
    if isinstance(raw, bytes | bytearray):
        return base64.b64encode(raw).decode("ascii")
    return str(raw)


def binary(value: str) -> bytes:
    return base64.b64decode(value)


def render(value: Value) -> str:
    """A value as DynamoDB's Java messages print collections: [a, b]."""
    _kind, inner = next(iter(value.items()))
    if isinstance(inner, list):
        return "[" + ", ".join(str(v) for v in inner) + "]"
    return str(inner)


def render_typed(value: Value) -> str:
    """DynamoDB's ``AttributeValue: {N:10}`` form in expression errors."""
    kind, inner = next(iter(value.items()))
    return f"{{{kind}:{render(value) if isinstance(inner, list) else inner}}}"


# ───────────────────────────────────────────────── size ─────────────────────────────────────────────────


def value_size(value: Value) -> int:
    """DynamoDB's size accounting (numbers: about one byte per two significant digits, plus one)."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(binary(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in inner)
    if kind == "NS":
        return sum(_number_size(n) for n in inner)
    if kind == "BS":
        return sum(len(binary(b)) for b in inner)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    return 0


def _number_size(text: str) -> int:
    digits = len(text.replace("-", "").replace(".", "").strip("0")) or 1
    return (digits + 1) // 2 + 1


def item_size(item: Item) -> int:
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


# ───────────────────────────────────────────────── comparisons ─────────────────────────────────────────────────


def equal(a: Value | None, b: Value | None) -> bool:
    """DynamoDB equality: same type and same value (numbers numerically, sets regardless of order)."""
    if a is None or b is None:
        return False
    ka, va = next(iter(a.items()))
    kb, vb = next(iter(b.items()))
    if ka != kb:
        return False
    if ka == "N":
        return bool(Decimal(va) == Decimal(vb))
    if ka == "NS":
        return {Decimal(n) for n in va} == {Decimal(n) for n in vb}
    if ka in ("SS", "BS"):
        return set(va) == set(vb)
    if ka == "M":
        return va.keys() == vb.keys() and all(equal(va[k], vb[k]) for k in va)
    if ka == "L":
        return len(va) == len(vb) and all(equal(x, y) for x, y in zip(va, vb))
    return bool(va == vb)


def sort_key(value: Value) -> Any:
    """An ordering key for N, S and B (the types DynamoDB orders); others are not comparable."""
    kind, inner = next(iter(value.items()))
    if kind == "N":
        return Decimal(inner)
    if kind == "B":
        return binary(inner)
    return inner


def compare(a: Value | None, b: Value | None) -> int | None:
    """-1, 0 or 1 for two values of the same orderable type (N, S, B); None when they cannot be compared."""
    if a is None or b is None:
        return None
    ka, kb = type_of(a), type_of(b)
    if ka != kb or ka not in ("N", "S", "B"):
        return None
    x, y = sort_key(a), sort_key(b)
    return int((x > y) - (x < y))


def member_key(kind: str, member: Any) -> Any:
    """A set member as a hashable key equal for members DynamoDB holds equal (numbers numerically), so set
    operations stay linear."""
    if kind == "NS":
        return Decimal(member)
    if kind == "BS":
        return binary(member)
    return member


def contains_member(collection: list[Any], kind: str, member: Value) -> bool:
    """Whether a set of `kind` holds `member` (numbers compared numerically)."""
    element_kind = kind[0]
    if type_of(member) != element_kind:
        return False
    inner = member[element_kind]
    if kind == "NS":
        return Decimal(inner) in {Decimal(n) for n in collection}
    return inner in collection
