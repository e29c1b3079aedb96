"""CloudWatch over smithy-rpc-v2-cbor, the protocol its model names first: botocore's own CBOR serializer and
parser (a client made to pick that protocol) against the server, successes and errors, timestamps as CBOR tag 1."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import cbor2
import httpx
import pytest
from botocore.config import Config

from pipework.clock import ManualClock
from pipework.testing import RunningServer

START = 1_800_000_000.0


@pytest.fixture(scope="module")
def cbor_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data path holding CloudWatch's model with rpc-v2-cbor as its only protocol."""
    source = Path(botocore.__file__).parent / "data" / "cloudwatch" / "2010-08-01" / "service-2.json.gz"
    model = json.loads(gzip.decompress(source.read_bytes()))
    model["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
    root = tmp_path_factory.mktemp("models")
    target = root / "cloudwatch" / "2010-08-01"
    target.mkdir(parents=True)
    (target / "service-2.json").write_text(json.dumps(model))
    return root


def cbor_client(server: RunningServer, models: Path) -> Any:
    core = botocore.session.get_session()
    core.get_component("data_loader").search_paths.insert(0, str(models))
    session = boto3.session.Session(botocore_session=core)
    return session.client(
        "cloudwatch",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_botocore_over_cbor_puts_and_reads_metrics(make_server: Any, cbor_models: Path) -> None:
    server = make_server(clock=ManualClock(start=START))
    cloudwatch = cbor_client(server, cbor_models)
    assert cloudwatch.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor"
    at = dt.datetime.fromtimestamp(START - 120, dt.UTC)
    cloudwatch.put_metric_data(
        Namespace="Plant",
        MetricData=[{"MetricName": "Power", "Timestamp": at, "Values": [1.0, 2.0, 3.0], "Unit": "Count"}],
    )
    found = cloudwatch.get_metric_statistics(
        Namespace="Plant",
        MetricName="Power",
        StartTime=dt.datetime.fromtimestamp(START - 600, dt.UTC),
        EndTime=dt.datetime.fromtimestamp(START, dt.UTC),
        Period=60,
        Statistics=["Sum", "Maximum"],
    )
    assert [(p["Timestamp"].timestamp(), p["Sum"], p["Maximum"]) for p in found["Datapoints"]] == [
        (START - 120, 6.0, 3.0)
    ]
    assert [m["MetricName"] for m in cloudwatch.list_metrics(Namespace="Plant")["Metrics"]] == ["Power"]


def test_errors_over_cbor_carry_the_query_code_and_the_exception_class(
    make_server: Any, cbor_models: Path
) -> None:
    server = make_server()
    cloudwatch = cbor_client(server, cbor_models)
    with pytest.raises(cloudwatch.exceptions.InvalidParameterValueException) as raised:
        cloudwatch.put_metric_data(Namespace="AWS/Mine", MetricData=[{"MetricName": "m", "Value": 1.0}])
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(cloudwatch.exceptions.ResourceNotFoundException):
        cloudwatch.set_alarm_state(AlarmName="none", StateValue="OK", StateReason="r")


def test_a_request_that_is_not_cbor_gets_a_cbor_error(make_server: Any) -> None:
    server = make_server()
    response = httpx.post(
        server.endpoint_url + "/service/GraniteServiceVersion20100801/operation/ListMetrics",
        content=b"\xff\xff",
        headers={"smithy-protocol": "rpc-v2-cbor", "content-type": "application/cbor"},
    )
    assert response.status_code == 400
    assert response.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert cbor2.loads(response.content)["__type"].endswith("SerializationException")
