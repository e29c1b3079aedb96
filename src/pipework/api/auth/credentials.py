"""The keys Pipework accepts and what each may do: the credentials file (``--credentials FILE``), keys created at
run time through the admin API (kept in the store, so every node sharing it knows them), and temporary keys that
STS AssumeRole hands out.

The file's shape::

    {"Keys": [{"AccessKeyId": "AKIA...", "SecretAccessKey": "...", "Account": "111111111111",
               "Principal": "alice", "Admin": false, "Policies": [<IAM policy documents>]}],
     "Roles": [{"Arn": "arn:aws:iam::111111111111:role/NAME", "Policies": [...],
                "TrustedAccounts": ["222222222222"]}]}

Secrets are never logged: `Key.__repr__` leaves them out.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipework.iam import Policy, PolicyError, Request, evaluate, parse_policy
from pipework.store.base import Store

from .roles import StoredRole, StoredRoles

KEY_KIND = "access-key"
ACCOUNT = re.compile(r"^\d{12}$")
ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$")
PRINCIPAL = re.compile(r"^[\w+=,.@-]{1,64}$")
#: how long a node trusts what it read of a run-time key before reading it again (another node may disable it)
KEY_CACHE_SECONDS = 5.0


class CredentialsError(ValueError):
    """A credentials file (or an admin request) that does not have the documented shape."""


@dataclass(frozen=True)
class Caller:
    """Who signed a request: `access_key`, `account`, `arn` (``arn:aws:iam::ACCOUNT:user/NAME`` or
    ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``), `user_id`, `admin`, and the identity `policies`."""

    access_key: str
    account: str
    arn: str
    user_id: str
    admin: bool
    policies: tuple[Policy, ...]


@dataclass(frozen=True)
class Key:
    """One access key. `token` is set for temporary keys (they must be used with it), with `expires` (epoch)."""

    access_key: str
    secret: str = field(repr=False)
    account: str
    principal: str
    admin: bool = False
    policies: tuple[Any, ...] = ()  # the documents, as given
    enabled: bool = True
    token: str | None = field(default=None, repr=False)
    expires: float | None = None
    role_arn: str | None = None
    created: float = 0.0
    parsed: tuple[Policy, ...] = field(default=(), repr=False, compare=False)

    @property
    def caller(self) -> Caller:
        if self.role_arn is not None:
            match = ROLE_ARN.match(self.role_arn)
            role = match.group(2) if match else self.role_arn
            arn = f"arn:aws:sts::{self.account}:assumed-role/{role}/{self.principal}"
            user_id = f"AROA{self.access_key[4:]}:{self.principal}"
        else:
            arn = f"arn:aws:iam::{self.account}:user/{self.principal}"
            user_id = f"AIDA{self.access_key[4:]}"
        return Caller(self.access_key, self.account, arn, user_id, self.admin, self.parsed)

    def to_api(self, *, with_secret: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "AccessKeyId": self.access_key,
            "Account": self.account,
            "Principal": self.principal,
            "Admin": self.admin,
            "Policies": list(self.policies),
            "Status": "Active" if self.enabled else "Inactive",
        }
        if with_secret:
            out["SecretAccessKey"] = self.secret
        return out


@dataclass(frozen=True)
class Role:
    """A role that AssumeRole may hand out keys for: its `policies`, and who may assume it. A role of the
    credentials file is trusted by its own account and its `trusted_accounts` (and by the services acting for
    them); a role a stack created (`roles.StoredRoles`) by whom its `trust` policy (AssumeRolePolicyDocument)
    names."""

    arn: str
    account: str
    name: str
    policies: tuple[Any, ...]
    trusted_accounts: tuple[str, ...]
    parsed: tuple[Policy, ...] = field(default=(), repr=False, compare=False)
    trust: Policy | None = field(default=None, repr=False, compare=False)

    def trusts(self, account: str, *, principal_arn: str | None = None, service: str | None = None) -> bool:
        """Whether `principal_arn` of `account` (default: the account itself), or the `service` principal acting
        for `account`, may assume the role."""
        if self.trust is None:
            return account == self.account or account in self.trusted_accounts
        if service is not None and account != self.account:
            return False  # a service assumes a role for resources of the role's own account
        request = Request(
            action="sts:AssumeRole",
            resource=self.arn,
            principal_arn=principal_arn or f"arn:aws:iam::{account}:root",
            account=account,
            resource_account=None,  # the trust policy alone decides (the caller's own policies are checked apart)
            service=service,
        )
        return evaluate(request, (), self.trust).allowed


def _policies(raw: Any, where: str) -> tuple[tuple[Any, ...], tuple[Policy, ...]]:
    if raw is None:
        return (), ()
    if not isinstance(raw, list):
        raise CredentialsError(f"{where}: Policies must be a list of policy documents.")
    parsed: list[Policy] = []
    for number, document in enumerate(raw, 1):
        try:
            parsed.append(parse_policy(document))
        except PolicyError as error:
            raise CredentialsError(f"{where}: policy {number}: {error}") from None
    return tuple(raw), tuple(parsed)


def key_from_api(raw: Any, where: str) -> Key:
    """A key from its JSON form (the file's ``Keys`` entries, the admin API's body, the store)."""
    if not isinstance(raw, dict):
        raise CredentialsError(f"{where} must be an object.")
    access_key, secret = raw.get("AccessKeyId"), raw.get("SecretAccessKey")
    account, principal = raw.get("Account"), raw.get("Principal")
    if not isinstance(access_key, str) or not re.fullmatch(r"[A-Z0-9]{16,128}", access_key):
        raise CredentialsError(f"{where}: AccessKeyId must be 16 to 128 upper-case letters and digits.")
    if not isinstance(secret, str) or not 16 <= len(secret) <= 128:
        raise CredentialsError(f"{where}: SecretAccessKey must be a string of 16 to 128 characters.")
    if not isinstance(account, str) or not ACCOUNT.match(account):
        raise CredentialsError(f"{where}: Account must be a 12-digit account id.")
    if not isinstance(principal, str) or not PRINCIPAL.match(principal):
        raise CredentialsError(f"{where}: Principal must be a user name (letters, digits, +=,.@_-).")
    admin = raw.get("Admin", False)
    if not isinstance(admin, bool):
        raise CredentialsError(f"{where}: Admin must be true or false.")
    documents, parsed = _policies(raw.get("Policies"), where)
    status = raw.get("Status", "Active")
    return Key(
        access_key,
        secret,
        account,
        principal,
        admin,
        documents,
        enabled=status != "Inactive",
        created=float(raw.get("Created", 0) or 0),
        parsed=parsed,
    )


def _role(raw: Any, where: str) -> Role:
    if not isinstance(raw, dict):
        raise CredentialsError(f"{where} must be an object.")
    arn = raw.get("Arn")
    match = ROLE_ARN.match(arn) if isinstance(arn, str) else None
    if match is None:
        raise CredentialsError(f"{where}: Arn must be a role ARN, arn:aws:iam::<12-digit account>:role/NAME.")
    trusted = raw.get("TrustedAccounts", [])
    if not isinstance(trusted, list) or not all(isinstance(a, str) and ACCOUNT.match(a) for a in trusted):
        raise CredentialsError(f"{where}: TrustedAccounts must be a list of 12-digit account ids.")
    documents, parsed = _policies(raw.get("Policies"), where)
    return Role(str(arn), match.group(1), match.group(2), documents, tuple(trusted), parsed)


@dataclass(frozen=True)
class Credentials:
    """The keys and roles of a credentials file."""

    keys: tuple[Key, ...] = ()
    roles: tuple[Role, ...] = ()

    @classmethod
    def parse(cls, document: Any) -> Credentials:
        if not isinstance(document, dict):
            raise CredentialsError('The credentials must be a JSON object {"Keys": [...], "Roles": [...]}.')
        unknown = set(document) - {"Keys", "Roles"}
        if unknown:
            raise CredentialsError(
                f"Unknown member(s) {', '.join(sorted(unknown))}; expected Keys and Roles."
            )
        keys, roles = document.get("Keys", []), document.get("Roles", [])
        if not isinstance(keys, list) or not isinstance(roles, list):
            raise CredentialsError("Keys and Roles must be lists.")
        parsed = tuple(key_from_api(raw, f"Keys[{n}]") for n, raw in enumerate(keys))
        ids = [key.access_key for key in parsed]
        if len(set(ids)) != len(ids):
            raise CredentialsError("Each AccessKeyId may appear only once.")
        return cls(parsed, tuple(_role(raw, f"Roles[{n}]") for n, raw in enumerate(roles)))

    @classmethod
    def load(cls, path: Path) -> Credentials:
        try:
            document = json.loads(Path(path).read_text())
        except OSError as error:
            raise CredentialsError(f"cannot read the credentials file {path}: {error.strerror}") from None
        except (ValueError, RecursionError) as error:
            raise CredentialsError(f"the credentials file {path} is not JSON: {error}") from None
        return cls.parse(document)


def new_key_id(prefix: str = "AKIA") -> str:
    return prefix + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))


def new_secret() -> str:
    return secrets.token_urlsafe(30)[:40]


class Keyring:
    """Every key a server knows: the file's (fixed), run-time ones (in the store), temporary ones (AssumeRole).

    Parameters: `credentials`, the file's keys and roles; `store`, where run-time keys live (None: in memory);
    `now`, the wall clock (signatures and temporary keys run on real time, whatever the emulated clock says).
    """

    def __init__(
        self, credentials: Credentials, store: Store | None = None, *, now: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.now = now
        self.roles = {role.arn: role for role in credentials.roles}
        self._fixed = {key.access_key: key for key in credentials.keys}
        self._runtime: dict[str, tuple[float, Key | None]] = {}
        self._temporary: dict[str, Key] = {}
        #: the roles stacks create (in the store, so every node sharing it knows them)
        self.stored_roles = StoredRoles(store, now=now)
        self._built: dict[str, tuple[StoredRole, Role]] = {}

    async def find(self, access_key: str) -> Key | None:
        """The key with this id, or None (unknown, deleted)."""
        key = self._fixed.get(access_key)
        if key is not None:
            return key
        key = self._temporary.get(access_key)
        if key is not None:
            return await self._current(key)
        if self.store is None:
            cached = self._runtime.get(access_key)
            return cached[1] if cached else None
        cached = self._runtime.get(access_key)
        if cached is not None and self.now() - cached[0] < KEY_CACHE_SECONDS:
            return cached[1]
        stored = await self.store.get_resource(KEY_KIND, access_key)
        found = key_from_api(stored.body, "stored key") if stored is not None else None
        if len(self._runtime) > 10_000:  # unknown ids are remembered briefly too: bound what floods can cost
            self._runtime.clear()
        self._runtime[access_key] = (self.now(), found)
        return found

    async def _current(self, key: Key) -> Key | None:
        """A temporary key with its role's policies as they are now (a stack update changes them for sessions
        already handed out, as on AWS); None once the role is gone."""
        if key.role_arn is None or key.role_arn in self.roles:
            return key
        role = await self.find_role(key.role_arn)
        if role is None:
            return None
        if role.parsed is key.parsed:
            return key
        current = replace(key, policies=role.policies, parsed=role.parsed)
        self._temporary[key.access_key] = current  # until the role changes again
        return current

    def role(self, arn: str) -> Role | None:
        """A role of the credentials file."""
        return self.roles.get(arn)

    async def find_role(self, arn: str) -> Role | None:
        """A role of the credentials file, or one a stack created; None if there is none."""
        found = self.roles.get(arn)
        if found is not None:
            return found
        stored = await self.stored_roles.find(arn)
        if stored is None:
            return None
        built = self._built.get(arn)
        if built is None or built[0] is not stored:  # read again from the store: build it again
            if len(self._built) > 10_000:
                self._built.clear()
            built = self._built[arn] = (stored, stored_role(stored))
        return built[1]

    def assume(self, role: Role, session: str, seconds: int) -> Key:
        """Temporary credentials for `role` (AssumeRole), valid for `seconds`."""
        for access_key, known in list(self._temporary.items()):
            if known.expires is not None and known.expires < self.now():
                del self._temporary[access_key]
        key = Key(
            new_key_id("ASIA"),
            new_secret(),
            role.account,
            session,
            token=secrets.token_urlsafe(96),
            expires=self.now() + seconds,
            role_arn=role.arn,
            created=self.now(),
            parsed=role.parsed,
            policies=role.policies,
        )
        self._temporary[key.access_key] = key
        return key

    # -- run-time keys (the admin API) ----------------------------------------------------------------------
    async def create(self, account: str, principal: str, *, admin: bool, policies: Any) -> Key:
        raw = {
            "AccessKeyId": new_key_id(),
            "SecretAccessKey": new_secret(),
            "Account": account,
            "Principal": principal,
            "Admin": admin,
            "Policies": policies if policies is not None else [],
            "Created": self.now(),
        }
        key = key_from_api(raw, "the key")
        await self._save(key)
        return key

    async def _save(self, key: Key) -> None:
        body = key.to_api(with_secret=True) | {"Created": key.created}
        if self.store is not None:
            await self.store.put_resource(KEY_KIND, key.access_key, body)
        self._runtime[key.access_key] = (self.now() if self.store is not None else float("inf"), key)

    async def listed(self) -> list[Key]:
        """The file's keys and the run-time ones (not temporary keys)."""
        runtime: list[Key] = []
        if self.store is not None:
            async for resource in self.store.all_resources(KEY_KIND):
                runtime.append(key_from_api(resource.body, "stored key"))
        else:
            runtime = [key for _, key in self._runtime.values() if key is not None]
        return sorted([*self._fixed.values(), *runtime], key=lambda k: k.access_key)

    async def disable(self, access_key: str) -> Key | None:
        """Disable a run-time key; None if there is no such run-time key."""
        key = await self._runtime_key(access_key)
        if key is None:
            return None
        disabled = replace(key, enabled=False)
        await self._save(disabled)
        return disabled

    async def delete(self, access_key: str) -> bool:
        if await self._runtime_key(access_key) is None:
            return False
        if self.store is not None:
            await self.store.delete_resource(KEY_KIND, access_key)
        self._runtime[access_key] = (self.now() if self.store is not None else float("inf"), None)
        return True

    async def _runtime_key(self, access_key: str) -> Key | None:
        if access_key in self._fixed:
            raise CredentialsError(
                f"{access_key} comes from the credentials file; change the file to change it."
            )
        if access_key in self._temporary:
            return None
        if self.store is not None:
            self._runtime.pop(access_key, None)  # read it afresh: another node may have changed it
        return await self.find(access_key)

    def fixed(self) -> Iterable[Key]:
        return self._fixed.values()


def stored_role(stored: StoredRole) -> Role:
    """A role a stack created, as the authorizer uses roles."""
    parts = stored.arn.split(":", 5)
    return Role(
        stored.arn,
        parts[4],
        parts[5].rsplit("/", 1)[-1],
        stored.documents,
        (),
        stored.parsed,
        trust=stored.trust,
    )
