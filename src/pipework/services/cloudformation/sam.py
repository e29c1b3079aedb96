"""SAM templates (``Transform: AWS::Serverless-2016-10-31``) expanded into plain CloudFormation by
aws-sam-translator, the library SAM itself uses; its errors become CloudFormation's transform failure message."""

from __future__ import annotations

from typing import Any

from pipework.cfn import TemplateError
from pipework.jsontypes import JSON


class _NoManagedPolicies:
    """SAM asks for the account's managed policy names; Pipework has none beyond those SAM bundles."""

    def load(self) -> dict[str, str]:
        return {}


def expand(template: JSON) -> JSON:
    try:
        from samtranslator.model.exceptions import InvalidDocumentException
        from samtranslator.translator.transform import transform
    except ImportError:  # pragma: no cover - a dependency of the package
        raise TemplateError("Transform AWS::Serverless-2016-10-31 needs aws-sam-translator") from None
    try:
        expanded: Any = transform(template, {}, _NoManagedPolicies())
    except InvalidDocumentException as exc:
        causes = "; ".join(str(cause.message) for cause in exc.causes)
        raise TemplateError(f"Transform AWS::Serverless-2016-10-31 failed with: {causes}") from None
    except Exception as exc:  # the translator raises many kinds; the user needs the message
        raise TemplateError(f"Transform AWS::Serverless-2016-10-31 failed with: {exc}") from None
    if not isinstance(expanded, dict):
        raise TemplateError("Transform AWS::Serverless-2016-10-31 failed with: no template")
    return expanded
