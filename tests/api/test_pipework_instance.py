"""The `Pipework` instance: building services from factories, lifecycle, and use in-process without HTTP."""

from __future__ import annotations

import asyncio
import logging
import sys
import types

import httpx
import pytest

from pipework.app import Pipework, Settings
from pipework.clock import ManualClock
from support.fake_service import FakeService


def test_a_missing_service_module_is_skipped_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="pipework.app"):
        pipework = Pipework(
            Settings(memory=True), services=["pipework.services.not_written_yet:create_service"]
        )
    assert pipework.services == {}
    assert "pipework.services.not_written_yet is not available" in caplog.text


def test_services_are_built_by_their_factory_with_the_instance(monkeypatch):
    module = types.ModuleType("fake_factory_module")
    built: list[Pipework] = []

    def create_service(pipework: Pipework) -> FakeService:
        built.append(pipework)
        return FakeService("sqs")

    module.create_service = create_service  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_factory_module", module)
    pipework = Pipework(Settings(memory=True), services=["fake_factory_module:create_service"])
    assert built == [pipework]
    assert list(pipework.services) == ["sqs"]


class LifecycleService(FakeService):
    def __init__(self) -> None:
        super().__init__("events")
        self.events: list[str] = []

    async def start(self) -> None:
        self.events.append("start")

    async def stop(self) -> None:
        self.events.append("stop")


def test_start_opens_the_store_and_starts_services_and_stop_undoes_both():
    clock = ManualClock()
    pipework = Pipework(Settings(memory=True), clock=clock, services=())
    service = LifecycleService()
    pipework.register(service)
    with pytest.raises(RuntimeError):
        _ = pipework.store

    async def scenario() -> None:
        await pipework.start()
        assert pipework.store.clock is clock
        await pipework.store.kv_put("b", "k", b"v")
        await pipework.stop()
        await pipework.stop()  # a second stop is harmless

    asyncio.run(scenario())
    assert service.events == ["start", "stop"]


def test_endpoint_url_names_localhost_for_wildcard_hosts():
    assert Settings(host="0.0.0.0", port=4566).endpoint_url == "http://localhost:4566"
    assert Settings(host="127.0.0.1", port=9).endpoint_url == "http://127.0.0.1:9"


def test_the_server_fixture_serves_the_default_apis(server):
    health = httpx.get(server.endpoint_url + "/_pipework/health").json()
    assert health == {"status": "ok", "services": sorted(server.pipework.services)}
