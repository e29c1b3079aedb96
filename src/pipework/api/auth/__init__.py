"""Who may call: SigV4 verification of every request against known keys (`credentials`, `verify`), and
authorization of the operation by IAM-style policies (`access`), tied together per request by the `Guard`."""

from pipework.api.auth.credentials import Caller, Credentials, CredentialsError, Key, Keyring, Role
from pipework.api.auth.guard import AuthSettings, Guard

__all__ = [
    "AuthSettings",
    "Caller",
    "Credentials",
    "CredentialsError",
    "Guard",
    "Key",
    "Keyring",
    "Role",
]
