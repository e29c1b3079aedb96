"""Access keys at run time, under ``/_pipework/keys`` (auth on; like every own route but health, the request must
be signed by an admin key with service name ``pipework``). Keys made here live in the store, so every node sharing
it accepts them; the credentials file's keys are listed but changed only in the file.

    GET    /_pipework/keys                        {"Keys": [{"AccessKeyId", "Account", "Principal", "Admin",
                                                   "Policies", "Status"}]} (never a secret)
    POST   /_pipework/keys                        {"Account": "111111111111", "Principal": "ci", "Admin": false,
                                                   "Policies": [...]} -> the key with its SecretAccessKey (shown
                                                   only here)
    POST   /_pipework/keys/{AccessKeyId}/disable  -> the key, Status Inactive
    DELETE /_pipework/keys/{AccessKeyId}          -> {}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import Route

from pipework.api.auth import CredentialsError, Keyring
from pipework.api.extensions_http import guarded, json_body, validation
from pipework.services.base import ServiceError

if TYPE_CHECKING:
    from pipework.api.instance import Instance


def routes(current: Callable[[], Instance]) -> list[Route]:
    def keyring() -> Keyring:
        guard = current().guard
        if guard is None:
            raise ServiceError(
                "AuthDisabledException",
                "Auth is off on this server: start it with --auth sigv4 --credentials FILE to manage keys.",
                400,
            )
        return guard.keyring

    def not_found(access_key: str) -> ServiceError:
        return ServiceError("NoSuchEntity", f"The access key {access_key} does not exist.", 404)

    async def listed(request: Request) -> Any:
        return {"Keys": [key.to_api() for key in await keyring().listed()]}

    async def create(request: Request) -> Any:
        ring = keyring()
        body = await json_body(request)
        account, principal = body.get("Account"), body.get("Principal")
        admin, policies = body.get("Admin", False), body.get("Policies", [])
        if not isinstance(account, str) or not isinstance(principal, str):
            raise validation("Account (a 12-digit account id) and Principal (a user name) are required.")
        try:
            key = await ring.create(account, principal, admin=admin, policies=policies)
        except CredentialsError as error:
            raise validation(str(error).replace("the key: ", "")) from None
        return key.to_api(with_secret=True)

    async def disable(request: Request) -> Any:
        access_key = request.path_params["key"]
        try:
            key = await keyring().disable(access_key)
        except CredentialsError as error:
            raise validation(str(error)) from None
        if key is None:
            raise not_found(access_key)
        return key.to_api()

    async def delete(request: Request) -> Any:
        access_key = request.path_params["key"]
        try:
            deleted = await keyring().delete(access_key)
        except CredentialsError as error:
            raise validation(str(error)) from None
        if not deleted:
            raise not_found(access_key)
        return {}

    return [
        Route("/_pipework/keys", guarded(listed), methods=["GET"]),
        Route("/_pipework/keys", guarded(create), methods=["POST"]),
        Route("/_pipework/keys/{key}/disable", guarded(disable), methods=["POST"]),
        Route("/_pipework/keys/{key}", guarded(delete), methods=["DELETE"]),
    ]
