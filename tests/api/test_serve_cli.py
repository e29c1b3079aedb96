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
    assert httpx.get(process.endpoint_url + "/console/").status_code == 200

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
    assert f"Console: {process.endpoint_url}/console/" in full


def test_an_open_console_tail_ends_when_the_server_stops(server_process, tmp_path):
    """Stopping does not wait for a browser's live tail to go away: the stream ends cleanly at once (uvicorn would
    otherwise wait out its graceful-shutdown timeout and cancel it)."""
    process = server_process(tmp_path / "data")
    with httpx.stream("GET", process.endpoint_url + "/console/api/tail/default", timeout=30) as tail:
        lines = tail.iter_lines()
        assert next(lines) == ": open"
        assert process.stop(signal.SIGTERM) == 0
        assert list(lines) == [""]  # the rest of the stream: the blank line after the comment, then its end
    assert "timeout graceful shutdown exceeded" not in process.read_output()
