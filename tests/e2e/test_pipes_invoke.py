"""``pipes invoke`` (a manual invocation with given records) over real HTTP: it is not one of the pipe's executions,
so it stays out of the pipe's metrics, whatever it does."""

from __future__ import annotations

from support.pipes import FN, ROLE, Recorder, always_down, counters, extension, make_table, stream_params


def test_a_manual_invocation_stays_out_of_the_pipes_metrics(server):
    server.pipework.functions.register("target", Recorder(always_down))
    stream = make_table(server)
    server.client("pipes").create_pipe(
        Name="p",
        Source=stream,
        Target=FN + "target",
        RoleArn=ROLE,
        DesiredState="STOPPED",
        SourceParameters={
            **stream_params(),
            "FilterCriteria": {"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}]},
        },
    )
    record = {"eventID": "e1", "eventName": "INSERT", "dynamodb": {"Keys": {"subjectId": {"S": "s9"}}}}
    removal = {**record, "eventID": "e2", "eventName": "REMOVE"}
    result = extension(server, "/_pipework/pipes/p/invoke", {"Records": [record, removal]})
    assert result["Status"] == "FAILED"
    assert result["Error"]["Code"] == "FUNCTION_ERROR"
    assert {name: count for name, count in counters(server, "p").items() if count} == {}
