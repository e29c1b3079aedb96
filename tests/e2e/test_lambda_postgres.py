"""Lambda on the PostgreSQL store shared by two nodes: a package uploaded to one node lives in the store, so the other
node (with a data directory of its own) unpacks and runs it, and sees its updates."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

from pipework.app import Settings
from pipework.testing import serve_in_thread
from support.lambdas import package
from support.postgres import drop_schema, new_schema, require_postgres

ROLE = "arn:aws:iam::000000000000:role/lambda"


def test_a_function_created_on_one_node_runs_on_another(tmp_path: Path) -> None:
    url = require_postgres()
    schema = new_schema()
    store = f"{url}?schema={schema}&pool_min=1&pool_max=4"
    try:
        with contextlib.ExitStack() as stack:
            first = stack.enter_context(serve_in_thread(Settings(store=store, data_dir=tmp_path / "a")))
            second = stack.enter_context(serve_in_thread(Settings(store=store, data_dir=tmp_path / "b")))
            first.client("lambda").create_function(
                FunctionName="shared",
                Runtime="python3.12",
                Role=ROLE,
                Handler="app.handler",
                Code={"ZipFile": package()},
            )
            other = second.client("lambda")
            answer = other.invoke(FunctionName="shared", Payload=b'{"node": "b"}')
            assert json.loads(answer["Payload"].read()) == {"node": "b"}
            assert list((tmp_path / "b" / "functions").iterdir())  # unpacked there, from the store's bytes
            new_code = package({"app.py": "def handler(event, context):\n    return 'v2'\n"})
            first.client("lambda").update_function_code(FunctionName="shared", ZipFile=new_code)
            assert json.loads(other.invoke(FunctionName="shared", Payload=b"{}")["Payload"].read()) == "v2"
            assert [f["FunctionName"] for f in other.list_functions()["Functions"]] == ["shared"]
    finally:
        asyncio.run(drop_schema(schema))
