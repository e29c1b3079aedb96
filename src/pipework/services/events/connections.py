"""Connections and API destinations: HTTP targets with authorization (API key, basic, OAuth client credentials)
and a rate limit. Secrets are kept in the store with the connection and never returned by Describe.
"""

from __future__ import annotations

import uuid

from pipework.jsontypes import JSON
from pipework.services import paging

from . import model
from .errors import already_exists, not_found, validation
from .state import EventsRegion, EventsState

_AUTH_KEYS = {
    "BASIC": "BasicAuthParameters",
    "API_KEY": "ApiKeyAuthParameters",
    "OAUTH_CLIENT_CREDENTIALS": "OAuthParameters",
}


def _public_auth(auth: JSON) -> JSON:
    """Auth parameters as Describe shows them: secrets removed."""
    out: JSON = {}
    if "BasicAuthParameters" in auth:
        out["BasicAuthParameters"] = {"Username": auth["BasicAuthParameters"].get("Username")}
    if "ApiKeyAuthParameters" in auth:
        out["ApiKeyAuthParameters"] = {"ApiKeyName": auth["ApiKeyAuthParameters"].get("ApiKeyName")}
    if "OAuthParameters" in auth:
        oauth = auth["OAuthParameters"]
        out["OAuthParameters"] = {
            "ClientParameters": {"ClientID": (oauth.get("ClientParameters") or {}).get("ClientID")},
            "AuthorizationEndpoint": oauth.get("AuthorizationEndpoint"),
            "HttpMethod": oauth.get("HttpMethod"),
        }
        if "OAuthHttpParameters" in oauth:
            out["OAuthParameters"]["OAuthHttpParameters"] = oauth["OAuthHttpParameters"]
    if "InvocationHttpParameters" in auth:
        out["InvocationHttpParameters"] = auth["InvocationHttpParameters"]
    return out


def _merge_auth(old: JSON, new: JSON) -> JSON:
    merged = dict(old)
    for key, value in new.items():
        merged[key] = {**old.get(key, {}), **value} if isinstance(value, dict) else value
    return merged


class ConnectionOperations(EventsState):
    """Mixed into `EventsService`."""

    @staticmethod
    def _connection(here: EventsRegion, name: str) -> JSON:
        connection = here.connections.get(name)
        if connection is None:
            raise not_found(f"Connection '{name}' does not exist.")
        return connection

    async def _save_connection(self, here: EventsRegion, connection: JSON) -> None:
        await self.store.put_resource(model.KIND_CONNECTION, here.key(connection["Name"]), connection)
        here.connections[connection["Name"]] = connection

    @staticmethod
    def _check_auth(kind: str, auth: JSON) -> None:
        wanted = _AUTH_KEYS[kind]
        if wanted not in auth:
            raise validation(f"{wanted} must be specified for authorization type {kind}.")

    async def op_CreateConnection(self, params: JSON, here: EventsRegion) -> JSON:
        name = params["Name"]
        if name in here.connections:
            raise already_exists(f"Connection {name} already exists.")
        self._check_auth(params["AuthorizationType"], params["AuthParameters"])
        now = self.clock.now()
        connection: JSON = {
            "Name": name,
            "ConnectionArn": here.arns.connection(name, str(uuid.uuid4())),
            "AuthorizationType": params["AuthorizationType"],
            "AuthParameters": params["AuthParameters"],
            "ConnectionState": "AUTHORIZED",
            "CreationTime": now,
            "LastModifiedTime": now,
            "LastAuthorizedTime": now,
        }
        if params.get("Description"):
            connection["Description"] = params["Description"]
        connection["SecretArn"] = (
            f"arn:aws:secretsmanager:{here.region}:{here.account}:secret:events!connection/{name}/{uuid.uuid4()}"
        )
        await self._save_connection(here, connection)
        return {
            k: connection[k] for k in ("ConnectionArn", "ConnectionState", "CreationTime", "LastModifiedTime")
        }

    async def op_DescribeConnection(self, params: JSON, here: EventsRegion) -> JSON:
        connection = self._connection(here, params["Name"])
        out = {k: v for k, v in connection.items() if k != "AuthParameters"}
        out["AuthParameters"] = _public_auth(connection["AuthParameters"])
        return out

    async def op_UpdateConnection(self, params: JSON, here: EventsRegion) -> JSON:
        connection = dict(self._connection(here, params["Name"]))
        if "AuthorizationType" in params:
            connection["AuthorizationType"] = params["AuthorizationType"]
        if "AuthParameters" in params:
            connection["AuthParameters"] = _merge_auth(connection["AuthParameters"], params["AuthParameters"])
        self._check_auth(connection["AuthorizationType"], connection["AuthParameters"])
        if "Description" in params:
            connection["Description"] = params["Description"]
        connection["LastModifiedTime"] = self.clock.now()
        await self._save_connection(here, connection)
        return {
            k: connection[k]
            for k in (
                "ConnectionArn",
                "ConnectionState",
                "CreationTime",
                "LastModifiedTime",
                "LastAuthorizedTime",
            )
        }

    async def op_ListConnections(self, params: JSON, here: EventsRegion) -> JSON:
        prefix = params.get("NamePrefix", "")
        found = [
            c
            for n, c in sorted(here.connections.items())
            if n.startswith(prefix)
            and params.get("ConnectionState", c["ConnectionState"]) == c["ConnectionState"]
        ]
        page, token = paging.page("ListConnections", found, params.get("NextToken"), params.get("Limit"))
        keys = (
            "ConnectionArn",
            "Name",
            "ConnectionState",
            "AuthorizationType",
            "CreationTime",
            "LastModifiedTime",
            "LastAuthorizedTime",
        )
        out: JSON = {"Connections": [{k: c[k] for k in keys if k in c} for c in page]}
        if token:
            out["NextToken"] = token
        return out

    async def op_DeleteConnection(self, params: JSON, here: EventsRegion) -> JSON:
        connection = self._connection(here, params["Name"])
        if any(d["ConnectionArn"] == connection["ConnectionArn"] for d in here.api_destinations.values()):
            raise validation(f"Connection '{connection['Name']}' is in use by an API destination.")
        await self.store.delete_resource(model.KIND_CONNECTION, here.key(connection["Name"]))
        del here.connections[connection["Name"]]
        return {
            "ConnectionArn": connection["ConnectionArn"],
            "ConnectionState": "DELETING",
            "CreationTime": connection["CreationTime"],
            "LastModifiedTime": connection["LastModifiedTime"],
        }

    async def op_DeauthorizeConnection(self, params: JSON, here: EventsRegion) -> JSON:
        connection = dict(self._connection(here, params["Name"]))
        connection["ConnectionState"] = "DEAUTHORIZED"
        connection["LastModifiedTime"] = self.clock.now()
        await self._save_connection(here, connection)
        return {
            k: connection[k] for k in ("ConnectionArn", "ConnectionState", "CreationTime", "LastModifiedTime")
        }

    # -- API destinations --------------------------------------------------------------------------------------
    @staticmethod
    def _api_destination(here: EventsRegion, name: str) -> JSON:
        destination = here.api_destinations.get(name)
        if destination is None:
            raise not_found(f"An api-destination '{name}' does not exist.")
        return destination

    async def _save_api_destination(self, here: EventsRegion, destination: JSON) -> None:
        await self.store.put_resource(model.KIND_API_DESTINATION, here.key(destination["Name"]), destination)
        here.api_destinations[destination["Name"]] = destination

    async def op_CreateApiDestination(self, params: JSON, here: EventsRegion) -> JSON:
        name = params["Name"]
        if name in here.api_destinations:
            raise already_exists(f"An api-destination '{name}' already exists.")
        if here.connection_by_arn(params["ConnectionArn"]) is None:
            raise not_found(f"Connection '{model.name_from_arn(params['ConnectionArn'])}' does not exist.")
        now = self.clock.now()
        destination: JSON = {
            "Name": name,
            "ApiDestinationArn": here.arns.api_destination(name, str(uuid.uuid4())),
            "ApiDestinationState": "ACTIVE",
            "ConnectionArn": params["ConnectionArn"],
            "InvocationEndpoint": params["InvocationEndpoint"],
            "HttpMethod": params["HttpMethod"],
            "InvocationRateLimitPerSecond": params.get("InvocationRateLimitPerSecond", 300),
            "CreationTime": now,
            "LastModifiedTime": now,
        }
        if params.get("Description"):
            destination["Description"] = params["Description"]
        await self._save_api_destination(here, destination)
        return {
            k: destination[k]
            for k in ("ApiDestinationArn", "ApiDestinationState", "CreationTime", "LastModifiedTime")
        }

    async def op_DescribeApiDestination(self, params: JSON, here: EventsRegion) -> JSON:
        return dict(self._api_destination(here, params["Name"]))

    async def op_UpdateApiDestination(self, params: JSON, here: EventsRegion) -> JSON:
        destination = dict(self._api_destination(here, params["Name"]))
        if "ConnectionArn" in params and here.connection_by_arn(params["ConnectionArn"]) is None:
            raise not_found(f"Connection '{model.name_from_arn(params['ConnectionArn'])}' does not exist.")
        for key in (
            "Description",
            "ConnectionArn",
            "InvocationEndpoint",
            "HttpMethod",
            "InvocationRateLimitPerSecond",
        ):
            if key in params:
                destination[key] = params[key]
        destination["LastModifiedTime"] = self.clock.now()
        await self._save_api_destination(here, destination)
        return {
            k: destination[k]
            for k in ("ApiDestinationArn", "ApiDestinationState", "CreationTime", "LastModifiedTime")
        }

    async def op_ListApiDestinations(self, params: JSON, here: EventsRegion) -> JSON:
        prefix = params.get("NamePrefix", "")
        found = [
            d
            for n, d in sorted(here.api_destinations.items())
            if n.startswith(prefix) and params.get("ConnectionArn", d["ConnectionArn"]) == d["ConnectionArn"]
        ]
        page, token = paging.page("ListApiDestinations", found, params.get("NextToken"), params.get("Limit"))
        out: JSON = {"ApiDestinations": page}
        if token:
            out["NextToken"] = token
        return out

    async def op_DeleteApiDestination(self, params: JSON, here: EventsRegion) -> JSON:
        destination = self._api_destination(here, params["Name"])
        await self.store.delete_resource(model.KIND_API_DESTINATION, here.key(destination["Name"]))
        del here.api_destinations[destination["Name"]]
        return {}
