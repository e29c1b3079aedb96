"""SAM templates (``Transform: AWS::Serverless-2016-10-31``) expanded into plain CloudFormation by
aws-sam-translator, the library SAM itself uses; its errors become CloudFormation's transform failure message."""

from __future__ import annotations

import logging
from typing import Any

from pipework.cfn import TemplateError
from pipework.jsontypes import JSON

# The translator warns of usage metrics it records for AWS's own service, which Pipework does not publish.
logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)


class _NoManagedPolicies:
    """SAM asks for the account's managed policy names; Pipework has none beyond those SAM bundles."""

    def load(self) -> dict[str, str]:
        return {}


def expand(template: JSON, region: str, account: str) -> JSON:
    """The SAM template `template` as plain CloudFormation, for a stack in `region` and `account`."""
    try:
        import boto3
        from samtranslator.model.exceptions import InvalidDocumentException
        from samtranslator.parser.parser import Parser
        from samtranslator.translator.arn_generator import ArnGenerator
        from samtranslator.translator.translator import Translator
    except ImportError:  # pragma: no cover - a dependency of the package
        raise TemplateError("Transform AWS::Serverless-2016-10-31 needs aws-sam-translator") from None
    pseudo = {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws"}
    # The translator finds the region through boto3's session unless told; the call does not yield to other tasks.
    previous, ArnGenerator.BOTO_SESSION_REGION_NAME = ArnGenerator.BOTO_SESSION_REGION_NAME, region
    try:
        session = boto3.session.Session(region_name=region)
        translator = Translator(None, Parser(), boto_session=session)
        expanded: Any = translator.translate(
            template, pseudo, get_managed_policy_map=_NoManagedPolicies().load
        )
    except InvalidDocumentException as exc:
        causes = "; ".join(str(cause.message) for cause in exc.causes)
        raise TemplateError(f"Transform AWS::Serverless-2016-10-31 failed with: {causes}") from None
    except Exception as exc:  # the translator raises many kinds; the user needs the message
        raise TemplateError(f"Transform AWS::Serverless-2016-10-31 failed with: {exc}") from None
    finally:
        ArnGenerator.BOTO_SESSION_REGION_NAME = previous
    if not isinstance(expanded, dict):
        raise TemplateError("Transform AWS::Serverless-2016-10-31 failed with: no template")
    return expanded
