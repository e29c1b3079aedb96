"""Messages: checking bodies and message attributes as SQS does, their MD5 digests as AWS computes them, and how a
message is kept in the store (body = payload; attributes, ids and system attributes in the item's attributes).
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from collections.abc import Iterable
from typing import Any

from pipework.jsontypes import JSON
from pipework.services.base import ServiceError

from .errors import invalid_message_contents, invalid_parameter, missing_parameter

MAX_ATTRIBUTES = 10
MAX_ATTRIBUTE_NAME = 256
# Characters XML 1.0 allows, which is what SQS accepts in bodies and string attribute values.
_INVALID_CHARACTERS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_DATA_TYPE = re.compile(r"(String|Number|Binary)(\.[^\s]+)?")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
SYSTEM_ATTRIBUTES = ("AWSTraceHeader",)

# Transport types of AWS's attribute encoding for MD5OfMessageAttributes.
_STRING, _BINARY = b"\x01", b"\x02"


# ── digests (AWS's algorithm: what SDKs that verify checksums recompute) ──


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode("utf-8")).hexdigest()


def md5_of_attributes(attributes: JSON) -> str:
    """MD5 over the attributes sorted by name, each as: length-prefixed name, length-prefixed data type, one
    transport byte (1 string, 2 binary), length-prefixed value (lengths are 4-byte big-endian)."""
    digest = hashlib.md5()
    for name in sorted(attributes):
        value = attributes[name]
        data_type: str = value["DataType"]
        _length_prefixed(digest, name.encode("utf-8"))
        _length_prefixed(digest, data_type.encode("utf-8"))
        if "BinaryValue" in value:
            digest.update(_BINARY)
            _length_prefixed(digest, _binary(value["BinaryValue"]))
        else:
            digest.update(_STRING)
            _length_prefixed(digest, value["StringValue"].encode("utf-8"))
    return digest.hexdigest()


def _length_prefixed(digest: Any, data: bytes) -> None:
    digest.update(struct.pack(">I", len(data)))
    digest.update(data)


def _binary(value: bytes | str) -> bytes:
    """Binary values are bytes on the wire side, base64 text in the store."""
    return value if isinstance(value, bytes | bytearray) else base64.b64decode(value)


# ── checking what senders give ──


def check_body(body: Any) -> str:
    if not isinstance(body, str) or body == "":
        raise missing_parameter("MessageBody")
    if _INVALID_CHARACTERS.search(body):
        raise invalid_message_contents()
    return body


def check_attributes(attributes: JSON, *, system: bool = False) -> tuple[JSON, int]:
    """Validate message (or system) attributes; return them in stored form (binary as base64 text, custom
    number types kept) and their size as SQS counts it against the message size limit."""
    kind = "system" if system else "user"
    if len(attributes) > MAX_ATTRIBUTES and not system:
        raise invalid_parameter(
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum [{MAX_ATTRIBUTES}]."
        )
    stored: JSON = {}
    size = 0
    for name, value in attributes.items():
        if system and name not in SYSTEM_ATTRIBUTES:
            raise invalid_parameter(f"Message system attribute name '{name}' is invalid.")
        if not system:
            _check_attribute_name(name)
        if not isinstance(value, dict):
            raise invalid_parameter(f"The message ({kind}) attribute '{name}' must contain a value.")
        data_type = value.get("DataType")
        if not data_type:
            raise invalid_parameter(f"The message ({kind}) attribute '{name}' must contain a DataType.")
        if not _DATA_TYPE.fullmatch(data_type) or len(data_type) > 256:
            raise invalid_parameter(
                f"The type of message ({kind}) attribute '{name}' is invalid. You must use only the following "
                "supported type prefixes: Binary, Number, String."
            )
        if system and data_type != "String":
            raise invalid_parameter(f"{name} attribute value must be of type String.")
        if value.get("StringListValues") or value.get("BinaryListValues"):
            raise invalid_parameter(f"Message ({kind}) attribute '{name}': list values are not supported.")
        if data_type.startswith("Binary"):
            binary = value.get("BinaryValue")
            if binary is None or len(_binary(binary)) == 0:
                raise _empty_value(kind, name, "Binary")
            raw = _binary(binary)
            stored[name] = {"DataType": data_type, "BinaryValue": base64.b64encode(raw).decode("ascii")}
            size += len(raw)
        else:
            text = value.get("StringValue")
            base = "Number" if data_type.startswith("Number") else "String"
            if not isinstance(text, str) or text == "":
                raise _empty_value(kind, name, base)
            if _INVALID_CHARACTERS.search(text):
                raise invalid_message_contents()
            if base == "Number" and not _NUMBER.fullmatch(text):
                raise invalid_parameter(
                    f"Can't cast the value of message ({kind}) attribute '{name}' to a number."
                )
            stored[name] = {"DataType": data_type, "StringValue": text}
            size += len(text.encode("utf-8"))
        size += len(name.encode("utf-8")) + len(data_type.encode("utf-8"))
    return stored, size


def _check_attribute_name(name: str) -> None:
    lowered = name.lower()
    if (
        not _ATTRIBUTE_NAME.fullmatch(name)
        or len(name) > MAX_ATTRIBUTE_NAME
        or name.startswith(".")
        or name.endswith(".")
        or ".." in name
        or lowered.startswith("aws.")
        or lowered.startswith("amazon.")
    ):
        raise invalid_parameter(
            f"Message (user) attribute name '{name}' is invalid. The attribute name can contain A-Z, a-z, 0-9, "
            "underscore (_), hyphen (-), and period (.) characters."
        )


def _empty_value(kind: str, name: str, data_type: str) -> ServiceError:
    return invalid_parameter(
        f"The message ({kind}) attribute '{name}' must contain a non-empty message attribute value for message "
        f"attribute type '{data_type}'."
    )


# ── rendering what receivers get ──


def wire_attributes(stored: JSON) -> JSON:
    """Stored attributes as the output shape wants them (binary values as bytes; the wire layer base64s them)."""
    out: JSON = {}
    for name, value in stored.items():
        if "BinaryValue" in value:
            out[name] = {"DataType": value["DataType"], "BinaryValue": base64.b64decode(value["BinaryValue"])}
        else:
            out[name] = value
    return out


def select_attributes(stored: JSON, wanted: Iterable[str]) -> JSON:
    """The attributes a ReceiveMessage's MessageAttributeNames asks for: names, "All" or ".*", or "prefix.*"."""
    names = list(wanted)
    if not names or not stored:
        return {}
    if "All" in names or ".*" in names:
        return stored
    exact = {n for n in names if not n.endswith(".*")}
    prefixes = tuple(n[:-1] for n in names if n.endswith(".*"))
    return {k: v for k, v in stored.items() if k in exact or (prefixes and k.startswith(prefixes))}
