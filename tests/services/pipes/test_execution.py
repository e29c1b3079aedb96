"""The pipe execution's pure parts: what an enrichment result means, partial batch responses, and which records a
target's failures name."""

from __future__ import annotations

import pytest

from pipework.engine.pipes import TargetResult, batch_item_failures, enrichment_items
from pipework.engine.pipes.execution import Execution

RECORDS = [{"eventID": "a"}, {"eventID": "b"}, {"eventID": "c"}]


@pytest.mark.parametrize(
    ("response", "items"),
    [
        ([1, 2], [1, 2]),
        ({"x": 1}, [{"x": 1}]),
        ("", []),
        ({}, []),
        ([], []),
        (None, []),
        ("[{}]", [{}]),
        ("plain text", ["plain text"]),
    ],
    ids=["list", "object", "empty-text", "empty-object", "empty-list", "null", "json-text", "text"],
)
def test_enrichment_results_map_to_items(response, items):
    assert enrichment_items(response) == items


@pytest.mark.parametrize(
    ("response", "ids"),
    [
        (None, None),
        ({"batchItemFailures": []}, None),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, ["b"]),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, [None]),
        ('{"batchItemFailures": [{"itemIdentifier": "a"}]}', ["a"]),
    ],
    ids=["none", "empty-list-is-success", "one", "empty-id-is-whole-batch", "json-text"],
)
def test_partial_batch_responses(response, ids):
    assert batch_item_failures(response) == ids


@pytest.mark.parametrize(
    ("result", "item_records", "failed"),
    [
        (TargetResult(failed_ids=["b"]), RECORDS, ["b"]),
        (TargetResult(failed_ids=["zzz"]), RECORDS, ["a", "b", "c"]),
        (TargetResult(failed_ids=[None]), RECORDS, ["a", "b", "c"]),
        (TargetResult(failed_indices=[2]), RECORDS, ["c"]),
        (TargetResult(failed_indices=[0]), None, ["a", "b", "c"]),
        (TargetResult(), RECORDS, []),
    ],
    ids=[
        "by-id",
        "unknown-id-fails-all",
        "no-id-fails-all",
        "by-position",
        "position-after-enrichment-fails-all",
        "none",
    ],
)
def test_failed_records_named_by_a_target(result, item_records, failed):
    chosen = Execution._partial_failures(RECORDS, item_records, result)
    assert [r["eventID"] for r in chosen] == failed
