"""Message signatures: the server's RSA key and self-signed certificate (generated once, kept in the store so
signatures stay verifiable across restarts), the canonical string SNS signs, and the signature itself
(SignatureVersion 1: SHA1withRSA; 2: SHA256withRSA), as code that verifies SNS messages expects them.

The certificate is served at each message's ``SigningCertURL`` (``/_pipework/sns/signing-cert.pem``).
"""

from __future__ import annotations

import base64
import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from pipework.jsontypes import JSON
from pipework.store.base import Store
from pipework.store.errors import Conflict

from . import model

CERT_PATH = "/_pipework/sns/signing-cert.pem"  # served by api/extensions_sns.py
_KEY = "server"

#: The fields each message type signs, in the order SNS concatenates them (absent fields are skipped).
NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def string_to_sign(message: JSON) -> bytes:
    """``Name\\nvalue\\n`` for each signed field of `message`'s type that it has, in SNS's order."""
    fields = NOTIFICATION_FIELDS if message.get("Type") == "Notification" else CONFIRMATION_FIELDS
    text = "".join(f"{name}\n{message[name]}\n" for name in fields if message.get(name) is not None)
    return text.encode("utf-8")


class Signer:
    """Signs messages with the server's key; `certificate_pem` is what the SigningCertURL serves."""

    def __init__(self, key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> None:
        self.key = key
        self.certificate = certificate
        self.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)

    @classmethod
    async def load(cls, store: Store, now: float) -> Signer:
        """The key and certificate kept in `store`, made (and kept) on first use."""
        entry = await store.kv_get(model.SIGNING, _KEY)
        if entry is not None:
            key_pem, _, cert_pem = entry.value.partition(b"\n\n")
            key = serialization.load_pem_private_key(key_pem, password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            return cls(key, x509.load_pem_x509_certificate(cert_pem))
        signer = cls.generate(now)
        key_pem = signer.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            await store.kv_put(
                model.SIGNING, _KEY, key_pem + b"\n\n" + signer.certificate_pem, expected_revision=0
            )
        except Conflict:
            # Another node sharing the store made its key first: use that one.
            return await cls.load(store, now)
        return signer

    @classmethod
    def generate(cls, now: float) -> Signer:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.pipework.local")])
        start = dt.datetime.fromtimestamp(now, dt.UTC) - dt.timedelta(days=1)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    def sign(self, message: JSON, version: str = "1") -> str:
        """The base64 ``Signature`` of `message` (SignatureVersion ``1``: SHA1, ``2``: SHA256)."""
        algorithm: hashes.HashAlgorithm = hashes.SHA256() if version == "2" else hashes.SHA1()
        signature = self.key.sign(string_to_sign(message), padding.PKCS1v15(), algorithm)
        return base64.b64encode(signature).decode("ascii")
