"""`pipework serve` as a real subprocess: it prints how to reach it, answers boto3, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal

import httpx
import pytest


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_prints_the_endpoint_answers_and_stops_gracefully(server_process, tmp_path, stop_signal):
    process = server_process(tmp_path / "data")
    banner = "".join(process.output)
    assert f"listening on {process.endpoint_url}" in banner

    health = httpx.get(process.endpoint_url + "/_pipework/health")
    assert health.status_code == 200
    response = httpx.post(
        process.endpoint_url + "/",
        headers={"X-Amz-Target": "Nope_20990101.Anything", "Content-Type": "application/x-amz-json-1.0"},
        content=b"{}",
    )
    assert response.status_code == 400
    assert response.json()["__type"] == "UnknownServiceException"

    assert process.stop(stop_signal) == 0
    full = process.read_output()
    assert f"export AWS_ENDPOINT_URL={process.endpoint_url}" in full
    assert "import boto3" in full
