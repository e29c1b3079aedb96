"""The templates in examples/templates deploy with `pipework deploy` and the systems they describe work."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pipework.testing import RunningServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "templates"


def deploy(server: RunningServer, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pipework.cli.main",
            "deploy",
            str(path),
            *args,
            "--endpoint-url",
            server.endpoint_url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_power_dispatch_template_runs_the_system(server: RunningServer) -> None:
    done = deploy(server, EXAMPLES / "power-dispatch.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    cfn = server.client("cloudformation")
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cfn.describe_stacks(StackName="power-dispatch")["Stacks"][0]["Outputs"]
    }
    pipes = server.client("pipes")
    deadline = time.monotonic() + 30
    while pipes.describe_pipe(Name="power-dispatch")["CurrentState"] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ddb, sqs = server.client("dynamodb"), server.client("sqs")
    ddb.put_item(TableName="Powers", Item={"subjectId": {"S": "plant-7"}, "megawatts": {"N": "120"}})
    got = sqs.receive_message(QueueUrl=outputs["QueueUrl"], WaitTimeSeconds=20)["Messages"]
    event = json.loads(got[0]["Body"])
    assert event["source"] == "energy.dispatch" and event["detail"] == {
        "subjectId": "plant-7",
        "megawatts": "120",
    }

    # The pipe's alarm, as the template declares it.
    [alarm] = server.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert (alarm["AlarmName"], alarm["Dimensions"]) == (
        "power-dispatch-failing",
        [{"Name": "PipeName", "Value": "power-dispatch"}],
    )
    assert alarm["AlarmActions"] == ["arn:aws:sns:us-east-1:000000000000:power-alerts"]

    # Deleting the stack removes the whole system.
    cfn.delete_stack(StackName="power-dispatch")
    deadline = time.monotonic() + 60
    while any(s["StackStatus"] != "DELETE_COMPLETE" for s in cfn.list_stacks()["StackSummaries"]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert pipes.list_pipes()["Pipes"] == []
    assert ddb.list_tables()["TableNames"] == []


def test_the_diy_vendor_mediator_template_catches_up_by_archive_and_replay(server: RunningServer) -> None:
    """The loyalty platform's DIY pieces from a SAM template: orders that failed while the vendor was down are
    archived as retries and replayed to the sender when the status monitor sees the vendor up again."""
    import importlib.util

    where = EXAMPLES.parent / "vendor-mediator"
    spec = importlib.util.spec_from_file_location("vendor_mediator_vendor_for_templates", where / "vendor.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while they are made
    spec.loader.exec_module(module)
    vendor = module.Vendor()
    try:
        done = deploy(server, EXAMPLES / "vendor-mediator-diy.yaml", "--param", f"VendorUrl={vendor.url}")
        assert done.returncode == 0, done.stdout + done.stderr
        events, functions = server.client("events"), server.client("lambda")

        def place(first: int, count: int) -> list[str]:
            ids = [f"order-{n:04d}" for n in range(first, first + count)]
            events.put_events(
                Entries=[
                    {
                        "EventBusName": "orders",
                        "Source": "shop",
                        "DetailType": "Order Placed",
                        "Detail": json.dumps({"orderId": i}),
                    }
                    for i in ids
                ]
            )
            return ids

        def wait_until(check: Any, timeout: float = 60.0) -> None:
            deadline = time.monotonic() + timeout
            while not check():
                assert time.monotonic() < deadline
                time.sleep(0.1)

        first = place(0, 5)
        wait_until(lambda: sorted(vendor.issued()) == first)
        vendor.down()
        later = place(5, 5)
        archive = events.list_archives(NamePrefix="order-retries")["Archives"][0]
        wait_until(lambda: events.describe_archive(ArchiveName="order-retries")["EventCount"] >= 5)
        assert archive["ArchiveName"] == "order-retries"
        check = functions.invoke(FunctionName="status_check", Payload=b"{}")
        assert "FunctionError" not in check, check["Payload"].read()
        vendor.up()
        check = functions.invoke(FunctionName="status_check", Payload=b"{}")
        assert "FunctionError" not in check, check["Payload"].read()
        # The status turned up: catch_up replays the outage window and the sender issues every retry.
        wait_until(lambda: sorted(set(vendor.issued())) == first + later)
        replays = events.list_replays(NamePrefix="vendor-outage-")["Replays"]
        assert len(replays) == 1
    finally:
        vendor.close()
