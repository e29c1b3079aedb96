"""The templates in examples/templates deploy with `pipework deploy` and the systems they describe work."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

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
    while cfn.list_stacks()["StackSummaries"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert pipes.list_pipes()["Pipes"] == []
    assert ddb.list_tables()["TableNames"] == []
