"""``pipework deploy TEMPLATE``: create or update a stack from a CloudFormation or SAM template on a running server,
as ``aws cloudformation deploy`` does (a change set, executed, then followed until it ends), printing the stack's
events; the exit code is 0 when the stack ends CREATE_COMPLETE or UPDATE_COMPLETE (or nothing changed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from .events import _add_endpoint, _endpoint, _region

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
SKIP_UNSUPPORTED_TAG = "pipework:skip-unsupported"
_POLL = 0.2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "deploy",
        help="create or update a stack from a CloudFormation / SAM template",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("template", help="the template file (YAML or JSON)")
    parser.add_argument(
        "--stack-name", help="the stack's name (default: the template file's name without suffix)"
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a template parameter's value; repeatable",
    )
    parser.add_argument(
        "--skip-unsupported",
        action="store_true",
        help="leave out resources of types Pipework does not serve instead of failing the stack",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait for the stack (default: 600)"
    )
    _add_endpoint(parser)
    parser.set_defaults(func=run)


def default_stack_name(path: Path) -> str:
    """The file's name without its suffix, made a valid stack name (letters, digits and hyphens, a letter
    first)."""
    name = re.sub(r"[^a-zA-Z0-9-]", "-", path.stem)
    return name if name[:1].isalpha() else f"stack-{name}"


def _client(endpoint_url: str, region: str) -> Any:
    import boto3

    return boto3.client(
        "cloudformation",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def run(args: argparse.Namespace) -> int:
    parameters: dict[str, str] = {}
    for given in args.param:
        key, sep, value = given.partition("=")
        if not sep or not key:
            print(f"pipework deploy: --param {given!r} is not KEY=VALUE", file=sys.stderr)
            return 2
        parameters[key] = value
    path = Path(args.template)
    return deploy(
        _endpoint(args),
        _region(args),
        path,
        stack_name=args.stack_name or default_stack_name(path),
        parameters=parameters,
        skip_unsupported=args.skip_unsupported,
        timeout=args.timeout,
    )


def deploy(
    endpoint_url: str,
    region: str,
    path: Path,
    *,
    stack_name: str,
    parameters: dict[str, str] | None = None,
    skip_unsupported: bool = False,
    timeout: float = 600.0,
    out: TextIO | None = None,
) -> int:
    """Deploy the template at `path` as `stack_name`; returns the exit code (see the module docstring)."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    out = out or sys.stdout
    try:
        body = path.read_text()
    except OSError as exc:
        print(f"pipework deploy: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        body = with_local_code(body, path.parent)
    except ValueError as exc:
        print(f"pipework deploy: {exc}", file=sys.stderr)
        return 2
    cfn = _client(endpoint_url, region)
    try:
        existing = _stack(cfn, stack_name)
        kind = "CREATE" if existing is None or existing["StackStatus"] == "REVIEW_IN_PROGRESS" else "UPDATE"
        request: dict[str, Any] = {
            "StackName": stack_name,
            "ChangeSetName": f"pipework-deploy-{int(time.time() * 1000)}",
            "ChangeSetType": kind,
            "TemplateBody": body,
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
            "Capabilities": CAPABILITIES,
        }
        if skip_unsupported:
            request["Tags"] = [{"Key": SKIP_UNSUPPORTED_TAG, "Value": "true"}]
        change_set = cfn.create_change_set(**request)
        described = cfn.describe_change_set(ChangeSetName=change_set["Id"])
        if described["Status"] == "FAILED":
            if "didn't contain changes" in described.get("StatusReason", ""):
                print(f"No changes to deploy. Stack {stack_name} is up to date", file=out)
                cfn.delete_change_set(ChangeSetName=change_set["Id"])
                return 0
            print(f"pipework deploy: {described.get('StatusReason')}", file=sys.stderr)
            return 1
        seen = {e["EventId"] for e in cfn.describe_stack_events(StackName=stack_name)["StackEvents"]}
        cfn.execute_change_set(ChangeSetName=change_set["Id"])
        print(f"Waiting for stack {stack_name} ({kind.lower()}) to finish", file=out, flush=True)
        deadline = time.monotonic() + timeout
        while True:
            status = _stack(cfn, stack_name)
            _print_events(cfn, stack_name, seen, out)
            if status is None:
                print(f"pipework deploy: stack {stack_name} is gone", file=sys.stderr)
                return 1
            if not status["StackStatus"].endswith("_IN_PROGRESS"):
                break
            if time.monotonic() > deadline:
                print(f"pipework deploy: stack {stack_name} still {status['StackStatus']}", file=sys.stderr)
                return 1
            time.sleep(_POLL)
    except ClientError as exc:
        print(f"pipework deploy: {exc.response['Error'].get('Message', exc)}", file=sys.stderr)
        return 1
    except EndpointConnectionError:
        print(f"pipework deploy: no server answers at {endpoint_url}", file=sys.stderr)
        return 1
    final = status["StackStatus"]
    if final in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        print(f"Successfully created/updated stack - {stack_name}", file=out)
        for output in status.get("Outputs") or ():
            print(f"  {output['OutputKey']} = {output['OutputValue']}", file=out)
        return 0
    print(f"pipework deploy: stack {stack_name} ended {final}", file=sys.stderr)
    return 1


LOCAL_BUCKET = "pipework-local"


def with_local_code(body: str, base: Path) -> str:
    """The template with each function's local code (a SAM ``CodeUri`` or a ``Code`` that is a path, as
    ``aws cloudformation package`` takes them) pointed at the directory itself (S3Bucket ``pipework-local``, S3Key
    its absolute path: Pipework's stand-in for S3, read by a server on this machine). A template without local
    code is sent as it is."""
    from pipework.cfn import TemplateError, load_template

    try:
        template = load_template(body)
    except TemplateError:
        return body  # the server answers with the reason
    changed = False

    def local(value: Any) -> Path | None:
        if not isinstance(value, str) or value.startswith("s3://"):
            return None
        where = (base / value).resolve()
        if not where.exists():
            raise ValueError(f"the code path {value} does not exist (relative to {base})")
        return where

    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties") if isinstance(resource, dict) else None
        if not isinstance(props, dict):
            continue
        if resource.get("Type") == "AWS::Serverless::Function" and (where := local(props.get("CodeUri"))):
            props["CodeUri"] = {"Bucket": LOCAL_BUCKET, "Key": str(where)}
            changed = True
        elif resource.get("Type") == "AWS::Lambda::Function" and (where := local(props.get("Code"))):
            props["Code"] = {"S3Bucket": LOCAL_BUCKET, "S3Key": str(where)}
            changed = True
    defaults = (template.get("Globals") or {}).get("Function") or {}
    if (where := local(defaults.get("CodeUri"))) is not None:
        defaults["CodeUri"] = {"Bucket": LOCAL_BUCKET, "Key": str(where)}
        changed = True
    return json.dumps(template) if changed else body


def _stack(cfn: Any, name: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        return dict(cfn.describe_stacks(StackName=name)["Stacks"][0])
    except ClientError as exc:
        if "does not exist" in exc.response["Error"].get("Message", ""):
            return None
        raise


def _print_events(cfn: Any, name: str, seen: set[str], out: TextIO) -> None:
    from botocore.exceptions import ClientError

    try:
        found = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError:
        return
    for event in reversed(found):
        if event["EventId"] in seen:
            continue
        seen.add(event["EventId"])
        reason = f"  {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
        print(
            f"{event['ResourceStatus']:<45} {event['ResourceType']:<32} {event['LogicalResourceId']}{reason}",
            file=out,
            flush=True,
        )
