"""Connections and API destinations: HTTP targets with authorization (API key, basic, OAuth client credentials)
and a rate limit. Secrets are kept in the store with the connection and never returned by Describe.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from pipework.jsontypes import JSON
from pipework.services import paging

from . import model
from .errors import already_exists, not_found, validation
from .model import ApiDestination, Connection
from .state import EventsRegion, EventsState

_AUTH_KEYS = {
    "BASIC": "BasicAuthParameters",
    "API_KEY": "ApiKeyAuthParameters",
    "OAUTH_CLIENT_CREDENTIALS": "OAuthParameters",
}


def _merge_auth(old: JSON, new: JSON) -> JSON:
    merged = dict(old)
    for key, value in new.items():
        merged[key] = {**old.get(key, {}), **value} if isinstance(value, dict) else value
    return merged


class ConnectionOperations(EventsState):
    """Mixed into `EventsService`."""

    @staticmethod
    def _connection(here: EventsRegion, name: str) -> Connection:
        connection = here.connections.get(name)
        if connection is None:
            raise not_found(f"Connection '{name}' does not exist.")
        return connection

    async def _save_connection(self, here: EventsRegion, connection: Connection) -> None:
        await self.store.put_resource(model.KIND_CONNECTION, here.key(connection.name), connection.to_store())
        here.remember_connection(connection)

    @staticmethod
    def _check_auth(kind: str, auth: JSON) -> None:
        wanted = _AUTH_KEYS[kind]
        if wanted not in auth:
            raise validation(f"{wanted} must be specified for authorization type {kind}.")

    @staticmethod
    def _state(connection: Connection) -> JSON:
        return {
            "ConnectionArn": connection.arn,
            "ConnectionState": connection.state,
            "CreationTime": connection.created,
            "LastModifiedTime": connection.modified,
        }

    async def op_CreateConnection(self, params: JSON, here: EventsRegion) -> JSON:
        name = params["Name"]
        if name in here.connections:
            raise already_exists(f"Connection {name} already exists.")
        self._check_auth(params["AuthorizationType"], params["AuthParameters"])
        now = self.clock.now()
        connection = Connection(
            name=name,
            arn=here.arns.connection(name, str(uuid.uuid4())),
            authorization_type=params["AuthorizationType"],
            auth=params["AuthParameters"],
            state="AUTHORIZED",
            created=now,
            modified=now,
            authorized=now,
            description=params.get("Description") or None,
            secret_arn=(
                f"arn:aws:secretsmanager:{here.region}:{here.account}:secret:events!connection/{name}/{uuid.uuid4()}"
            ),
        )
        await self._save_connection(here, connection)
        return self._state(connection)

    async def op_DescribeConnection(self, params: JSON, here: EventsRegion) -> JSON:
        return self._connection(here, params["Name"]).to_api()

    async def op_UpdateConnection(self, params: JSON, here: EventsRegion) -> JSON:
        connection = self._connection(here, params["Name"])
        kind = params.get("AuthorizationType", connection.authorization_type)
        auth = connection.auth
        if "AuthParameters" in params:
            auth = _merge_auth(auth, params["AuthParameters"])
        self._check_auth(kind, auth)
        connection = replace(
            connection,
            authorization_type=kind,
            auth=auth,
            description=params.get("Description", connection.description),
            modified=self.clock.now(),
        )
        await self._save_connection(here, connection)
        return {**self._state(connection), "LastAuthorizedTime": connection.authorized}

    async def op_ListConnections(self, params: JSON, here: EventsRegion) -> JSON:
        prefix = params.get("NamePrefix", "")
        found = [
            c
            for n, c in sorted(here.connections.items())
            if n.startswith(prefix) and params.get("ConnectionState", c.state) == c.state
        ]
        page, token = paging.page("ListConnections", found, params.get("NextToken"), params.get("Limit"))
        out: JSON = {"Connections": [c.summary() for c in page]}
        if token:
            out["NextToken"] = token
        return out

    async def op_DeleteConnection(self, params: JSON, here: EventsRegion) -> JSON:
        connection = self._connection(here, params["Name"])
        if any(d.connection_arn == connection.arn for d in here.api_destinations.values()):
            raise validation(f"Connection '{connection.name}' is in use by an API destination.")
        await self.store.delete_resource(model.KIND_CONNECTION, here.key(connection.name))
        here.forget_connection(connection)
        return {**self._state(connection), "ConnectionState": "DELETING"}

    async def op_DeauthorizeConnection(self, params: JSON, here: EventsRegion) -> JSON:
        connection = replace(
            self._connection(here, params["Name"]), state="DEAUTHORIZED", modified=self.clock.now()
        )
        await self._save_connection(here, connection)
        return self._state(connection)

    # -- API destinations --------------------------------------------------------------------------------------
    @staticmethod
    def _api_destination(here: EventsRegion, name: str) -> ApiDestination:
        destination = here.api_destinations.get(name)
        if destination is None:
            raise not_found(f"An api-destination '{name}' does not exist.")
        return destination

    async def _save_api_destination(self, here: EventsRegion, destination: ApiDestination) -> None:
        await self.store.put_resource(
            model.KIND_API_DESTINATION, here.key(destination.name), destination.to_store()
        )
        here.remember_api_destination(destination)

    @staticmethod
    def _destination_state(destination: ApiDestination) -> JSON:
        return {
            "ApiDestinationArn": destination.arn,
            "ApiDestinationState": destination.state,
            "CreationTime": destination.created,
            "LastModifiedTime": destination.modified,
        }

    async def op_CreateApiDestination(self, params: JSON, here: EventsRegion) -> JSON:
        name = params["Name"]
        if name in here.api_destinations:
            raise already_exists(f"An api-destination '{name}' already exists.")
        if here.connection_by_arn(params["ConnectionArn"]) is None:
            raise not_found(f"Connection '{model.name_from_arn(params['ConnectionArn'])}' does not exist.")
        now = self.clock.now()
        destination = ApiDestination(
            name=name,
            arn=here.arns.api_destination(name, str(uuid.uuid4())),
            connection_arn=params["ConnectionArn"],
            endpoint=params["InvocationEndpoint"],
            method=params["HttpMethod"],
            rate_limit=params.get("InvocationRateLimitPerSecond", 300),
            created=now,
            modified=now,
            description=params.get("Description") or None,
        )
        await self._save_api_destination(here, destination)
        return self._destination_state(destination)

    async def op_DescribeApiDestination(self, params: JSON, here: EventsRegion) -> JSON:
        return self._api_destination(here, params["Name"]).to_api()

    async def op_UpdateApiDestination(self, params: JSON, here: EventsRegion) -> JSON:
        destination = self._api_destination(here, params["Name"])
        if "ConnectionArn" in params and here.connection_by_arn(params["ConnectionArn"]) is None:
            raise not_found(f"Connection '{model.name_from_arn(params['ConnectionArn'])}' does not exist.")
        destination = destination.updated(params, self.clock.now())
        await self._save_api_destination(here, destination)
        return self._destination_state(destination)

    async def op_ListApiDestinations(self, params: JSON, here: EventsRegion) -> JSON:
        prefix = params.get("NamePrefix", "")
        found = [
            d
            for n, d in sorted(here.api_destinations.items())
            if n.startswith(prefix) and params.get("ConnectionArn", d.connection_arn) == d.connection_arn
        ]
        page, token = paging.page("ListApiDestinations", found, params.get("NextToken"), params.get("Limit"))
        out: JSON = {"ApiDestinations": [d.to_api() for d in page]}
        if token:
            out["NextToken"] = token
        return out

    async def op_DeleteApiDestination(self, params: JSON, here: EventsRegion) -> JSON:
        destination = self._api_destination(here, params["Name"])
        await self.store.delete_resource(model.KIND_API_DESTINATION, here.key(destination.name))
        here.forget_api_destination(destination)
        return {}
