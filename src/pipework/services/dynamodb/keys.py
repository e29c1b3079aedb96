"""Primary keys as store keys: an item's key attributes become one text key whose order is DynamoDB's sort order.

A store key is ``<hash part>/<range part>``: the hash part only has to be unique and free of ``/`` (its order does
not matter), the range part must sort as DynamoDB sorts the range key (S by UTF-8 bytes, N numerically, B by
unsigned bytes), so a Query is one range read of the store's kv. Index keys add the table's key after a NUL
separator, with the range part escaped so the separator cannot occur in it and order is kept.
"""

from __future__ import annotations

from decimal import Decimal

from .errors import ValidationError, invalid_parameter, key_schema_mismatch
from .values import Item, Value, binary, format_number, type_of

MAX_HASH_KEY_BYTES = 2048
MAX_RANGE_KEY_BYTES = 1024


def hash_part(value: Value) -> str:
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return "s" + str(inner).encode("utf-8").hex()
    if kind == "N":
        return "n" + str(inner)
    return "b" + binary(inner).hex()


def range_part(value: Value) -> str:
    """An order-preserving text encoding of an S, N or B value."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return str(inner)
    if kind == "B":
        return binary(inner).hex()
    return number_part(Decimal(inner))


def number_part(number: Decimal) -> str:
    """Numbers as text that sorts numerically: a sign class, then the exponent and digits (complemented for
    negative numbers, with a terminator that sorts after every digit so shorter mantissas sort right)."""
    if number.is_zero():
        return "2"
    sign, digits, exponent = number.normalize().as_tuple()
    assert isinstance(exponent, int)
    adjusted = exponent + len(digits) - 1  # scientific exponent, -130 .. 125
    mantissa = "".join(map(str, digits))
    if not sign:
        return f"3{adjusted + 500:03d}{mantissa}"
    complemented = "".join(str(9 - d) for d in digits)
    return f"1{499 - adjusted:03d}{complemented}~"


def escape(part: str) -> str:
    """Keep order while making NUL free to use as a separator: \\x01 -> \\x01\\x02, \\x00 -> \\x01\\x01."""
    return part.replace("\x01", "\x01\x02").replace("\x00", "\x01\x01")


class KeySchema:
    """A table's (or index's) key attributes: `hash_name`, `range_name` (or None) and their types."""

    def __init__(
        self, hash_name: str, hash_type: str, range_name: str | None, range_type: str | None
    ) -> None:
        self.hash_name = hash_name
        self.hash_type = hash_type
        self.range_name = range_name
        self.range_type = range_type
        self.names = (hash_name,) if range_name is None else (hash_name, range_name)

    def key_of(self, item: Item) -> Item:
        return {name: item[name] for name in self.names}

    def store_key(self, key: Item) -> str:
        text = hash_part(key[self.hash_name]) + "/"
        if self.range_name is not None:
            text += range_part(key[self.range_name])
        return text

    def hash_prefix(self, value: Value) -> str:
        return hash_part(value) + "/"

    def check_item_keys(self, item: Item) -> None:
        """An item being written must carry every key attribute, with the declared type, non-empty."""
        for name, declared in self.typed():
            value = item.get(name)
            if value is None:
                raise invalid_parameter(f"Missing the key {name} in the item")
            actual = type_of(value)
            if actual != declared:
                raise invalid_parameter(f"Type mismatch for key {name} expected: {declared} actual: {actual}")
            self._check_not_empty(name, value)
        self._check_sizes(item)

    def check_key(self, key: Item) -> None:
        """A Key parameter must name exactly the key attributes, with their types."""
        if set(key) != set(self.names):
            raise key_schema_mismatch()
        for name, declared in self.typed():
            if type_of(key[name]) != declared:
                raise key_schema_mismatch()
            self._check_not_empty(name, key[name])
        self._check_sizes(key)

    def check_index_keys(self, item: Item, index: str) -> None:
        """An item written to a table with this index: its index key attributes, where present, must have the
        declared type, be non-empty and fit the key size limits (an item without them is left out of the index)."""
        for name, declared in self.typed():
            value = item.get(name)
            if value is None:
                continue
            actual = type_of(value)
            if actual != declared:
                raise invalid_parameter(
                    f"Type mismatch for Index Key {name} Expected: {declared} Actual: {actual} IndexName: {index}"
                )
            kind, inner = next(iter(value.items()))
            if kind in ("S", "B") and inner == "":
                raise ValidationError(
                    "One or more parameter values are not valid. A value specified for a secondary index key is not "
                    "supported. The AttributeValue for a key attribute cannot contain an empty "
                    f"{'string' if kind == 'S' else 'binary'} value. IndexName: {index}, IndexKey: {name}"
                )
        self._check_sizes(item)

    def _check_sizes(self, item: Item) -> None:
        """DynamoDB's key size limits: 2048 bytes for a partition key, 1024 for a sort key."""
        hash_value = item.get(self.hash_name)
        if hash_value is not None and key_bytes(hash_value) > MAX_HASH_KEY_BYTES:
            raise invalid_parameter(  # sic: DynamoDB's text has no space before the number
                f"Size of hashkey has exceeded the maximum size limit of{MAX_HASH_KEY_BYTES} bytes"
            )
        range_value = item.get(self.range_name) if self.range_name is not None else None
        if range_value is not None and key_bytes(range_value) > MAX_RANGE_KEY_BYTES:
            raise invalid_parameter(
                f"Aggregated size of all range keys has exceeded the size limit of {MAX_RANGE_KEY_BYTES} bytes"
            )

    def index_entry_key(self, item: Item, table_key: str) -> str | None:
        """The store key of `item` in this index (None when the item lacks an index key: a sparse index)."""
        hash_value = item.get(self.hash_name)
        if hash_value is None or type_of(hash_value) != self.hash_type:
            return None
        text = hash_part(hash_value) + "/"
        if self.range_name is not None:
            range_value = item.get(self.range_name)
            if range_value is None or type_of(range_value) != self.range_type:
                return None
            text += escape(range_part(range_value))
        return text + "\x00" + table_key

    def typed(self) -> list[tuple[str, str]]:
        """(name, declared type) of each key attribute."""
        pairs = [(self.hash_name, self.hash_type)]
        if self.range_name is not None and self.range_type is not None:
            pairs.append((self.range_name, self.range_type))
        return pairs

    @staticmethod
    def _check_not_empty(name: str, value: Value) -> None:
        kind, inner = next(iter(value.items()))
        if kind in ("S", "B") and inner == "":
            raise ValidationError(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                f"contain an empty {'string' if kind == 'S' else 'binary'} value. Key: {name}"
            )


def key_bytes(value: Value) -> int:
    """The size of a key value as DynamoDB limits it (strings in UTF-8, binaries decoded; numbers are small)."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(str(inner).encode("utf-8", "surrogatepass"))
    if kind == "B":
        return len(binary(inner))
    return 0


def ttl_part(value: Value | None) -> str | None:
    """An item's TTL attribute as a sortable key part (epoch seconds), or None if it is not a usable number."""
    if value is None or type_of(value) != "N":
        return None
    number = Decimal(value["N"])
    if number < 0:
        return None
    return f"{int(number):020d}"


__all__ = ["KeySchema", "escape", "format_number", "hash_part", "number_part", "range_part", "ttl_part"]
