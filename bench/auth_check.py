"""What checking one request costs with ``--auth sigv4``, in process: a SendMessageBatch request signed by boto3's
signer is authenticated (`Guard.authenticate`: SigV4 with botocore's signer) and authorized (`Guard.authorize`: an
identity policy allowing ``sqs:*``) in a loop; prints the CPU time per request (median of 7 rounds).

    .venv/bin/python bench/auth_check.py             # 7 rounds of 2,000 requests
    .venv/bin/python bench/auth_check.py --smoke     # a few hundred: check that it works

A hot loop: the caches stay warm, so this is the check's floor; inside a busy server the same code costs two to
three times as much (see docs/benchmarks.md). `bench/queues.py` measures the cost end to end.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import statistics
import sys
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from pipework.api.auth import Credentials, Guard, Keyring
from pipework.api.auth.guard import condition_context
from pipework.api.auth.verify import SignedRequest
from pipework.api.sigv4 import parse_authorization

KEY = ("AKIABENCH000000001", "bench-secret-000000000000000000")
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests per round (default: 2000)")
    parser.add_argument("--smoke", action="store_true", help="a short run")
    args = parser.parse_args(argv)
    count, rounds = (200, 2) if args.smoke else (args.requests, 7)
    keys = [{"AccessKeyId": KEY[0], "SecretAccessKey": KEY[1], "Account": "111111111111", "Principal": "bench",
             "Policies": [POLICY]}]  # fmt: skip
    guard = Guard(Keyring(Credentials.parse({"Keys": keys})))
    body = json.dumps(
        {
            "QueueUrl": "http://127.0.0.1:4566/111111111111/bench",
            "Entries": [{"Id": str(i), "MessageBody": "x" * 100} for i in range(10)],
        }
    ).encode()
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:4566/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessageBatch"},
    )
    SigV4Auth(BotoCredentials(*KEY), "sqs", "us-east-1").add_auth(request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers["host"] = "127.0.0.1:4566"
    signed = SignedRequest("POST", "/", "", headers, body)
    params = json.loads(body)

    async def check(n: int) -> None:
        for _ in range(n):
            auth = parse_authorization(headers["authorization"])
            caller = await guard.authenticate(signed, auth, service="sqs")
            await guard.authorize(
                caller,
                signing_name="sqs",
                operation="SendMessageBatch",
                params=params,
                region="us-east-1",
                context=functools.partial(
                    condition_context,
                    caller,
                    region="us-east-1",
                    source_ip="127.0.0.1",
                    tls=False,
                    now=time.time(),
                ),
            )

    asyncio.run(check(100))  # warm-up
    spent = []
    for _ in range(rounds):
        started = time.process_time()
        asyncio.run(check(count))
        spent.append((time.process_time() - started) / count)
    print(f"SigV4 check + policy decision: {statistics.median(spent) * 1e6:.1f} µs CPU per request "
          f"(median of {rounds} rounds of {count}; min {min(spent) * 1e6:.1f} µs)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
