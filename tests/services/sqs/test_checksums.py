"""AWS's MD5 digests: the body's, and the message (system) attributes' binary encoding, built byte by byte here."""

from __future__ import annotations

import base64
import hashlib
import struct

from pipework.services.sqs.message import md5_of_attributes, md5_of_body


def length_prefixed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def test_md5_of_body_is_the_md5_of_its_utf8_bytes() -> None:
    assert md5_of_body("héllo") == hashlib.md5("héllo".encode()).hexdigest()


def test_md5_of_attributes_sorts_names_and_encodes_type_transport_and_value() -> None:
    attributes = {
        "zeta": {"DataType": "Binary", "BinaryValue": base64.b64encode(b"\x00\xff").decode()},
        "alpha": {"DataType": "String", "StringValue": "é"},
        "mid": {"DataType": "Number.int", "StringValue": "12"},
    }
    expected = hashlib.md5(
        length_prefixed(b"alpha") + length_prefixed(b"String") + b"\x01" + length_prefixed("é".encode())
        + length_prefixed(b"mid") + length_prefixed(b"Number.int") + b"\x01" + length_prefixed(b"12")
        + length_prefixed(b"zeta") + length_prefixed(b"Binary") + b"\x02" + length_prefixed(b"\x00\xff")
    ).hexdigest()  # fmt: skip
    assert md5_of_attributes(attributes) == expected


def test_md5_of_attributes_matches_a_known_aws_value() -> None:
    # The digest SQS returns for {"a": String "x", "b": Binary 0x0001, "n": Number.int "12"} (cross-checked with
    # moto's independent implementation).
    attributes = {
        "a": {"DataType": "String", "StringValue": "x"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        "n": {"DataType": "Number.int", "StringValue": "12"},
    }
    assert md5_of_attributes(attributes) == "95b660b4f3e207b71f70de869cd4ce26"
