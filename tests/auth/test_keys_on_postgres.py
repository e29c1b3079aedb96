"""Two `pipework serve` nodes on one PostgreSQL database, auth on by default: a key made through one node's admin
API works on the other, and disabling it there stops it everywhere (within the nodes' key cache time)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from support.postgres import drop_schema, new_schema, require_postgres

from .conftest import ADMIN, CREDENTIALS, client

ADMIN_ENV = {"AWS_ACCESS_KEY_ID": ADMIN[0], "AWS_SECRET_ACCESS_KEY": ADMIN[1]}


@pytest.fixture
def store_url() -> Iterator[str]:
    url = require_postgres()
    schema = new_schema()
    yield f"{url}?schema={schema}"
    asyncio.run(drop_schema(schema))


def test_a_key_made_on_one_node_works_on_the_other(server_process, tmp_path: Path, store_url: str) -> None:
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps(CREDENTIALS))
    first = server_process(tmp_path / "a", "--store", store_url, "--credentials", str(credentials))
    second = server_process(tmp_path / "b", "--store", store_url, "--credentials", str(credentials))
    deadline = time.monotonic() + 30
    while "Auth:" not in first.read_output() and time.monotonic() < deadline:
        time.sleep(0.05)  # the banner's lines after "listening on" may still be in the pipe
    assert "Auth: sigv4 (the default with a PostgreSQL store)" in first.read_output()

    env = {**os.environ, **ADMIN_ENV}
    env.pop("AWS_SESSION_TOKEN", None)
    made = subprocess.run(
        [sys.executable, "-m", "pipework.cli.main", "keys", "create", "--account", "444444444444",
         "--principal", "shared", "--admin", "--endpoint-url", first.endpoint_url],
        capture_output=True, text=True, timeout=60, env=env, check=True,
    )  # fmt: skip
    key = json.loads(made.stdout)
    pair = (key["AccessKeyId"], key["SecretAccessKey"])
    sqs = client(second, "sqs", pair)  # the other node
    assert sqs.create_queue(QueueName="shared")["QueueUrl"].endswith("/444444444444/shared")

    subprocess.run(
        [sys.executable, "-m", "pipework.cli.main", "keys", "disable", pair[0], "--endpoint-url", second.endpoint_url],
        capture_output=True, text=True, timeout=60, env=env, check=True,
    )  # fmt: skip
    with pytest.raises(ClientError) as error:
        client(second, "sqs", pair).list_queues()
    assert error.value.response["Error"]["Code"] == "InvalidClientTokenId"
    # The first node re-reads a key it has cached after KEY_CACHE_SECONDS.
    deadline = time.monotonic() + 30
    while True:
        try:
            client(first, "sqs", pair).list_queues()
        except ClientError as refused:
            assert refused.response["Error"]["Code"] == "InvalidClientTokenId"
            break
        assert time.monotonic() < deadline, "the first node kept accepting the disabled key"
        time.sleep(0.5)
