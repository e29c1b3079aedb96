"""A pipe loads from the store body Pipework has always written and writes it back unchanged (no migration)."""

from __future__ import annotations

from pipework.services.pipes.model import Pipe

#: A body exactly as the code before `Pipe` stored it.
STORED = {
    "Name": "p",
    "Arn": "arn:aws:pipes:eu-west-1:000000000000:pipe/p",
    "DesiredState": "STOPPED",
    "CurrentState": "STOPPED",
    "Source": "arn:aws:sqs:eu-west-1:000000000000:in",
    "SourceParameters": {"SqsQueueParameters": {"BatchSize": 2}},
    "Target": "arn:aws:sqs:eu-west-1:000000000000:out",
    "TargetParameters": {},
    "RoleArn": "arn:aws:iam::000000000000:role/r",
    "Tags": {"k": "v"},
    "CreationTime": 1.0,
    "LastModifiedTime": 2.0,
    "Description": "d",
    "StateReason": "USER_INITIATED",
}


def test_a_stored_pipe_loads_and_is_written_back_unchanged() -> None:
    pipe = Pipe.from_store(STORED)
    assert pipe.to_store() == STORED
    assert pipe.key == "000000000000/eu-west-1/p"
    assert pipe.to_api()["EnrichmentParameters"] == {}  # DescribePipe always shows it


def test_a_state_change_sets_or_clears_the_reason() -> None:
    pipe = Pipe.from_store(STORED)
    assert "StateReason" not in pipe.with_state("STARTING").to_store()
    assert pipe.with_state("STOPPED", "x" * 600).state_reason == "x" * 512
