"""CloudFormation templates as a pure library: reading them (JSON, or YAML with the short-form tags), the
intrinsic functions and conditions, and the order resources are created in. Nothing here creates a resource:
`services/cloudformation` does, through the served APIs.
"""

from .errors import TemplateError
from .graph import creation_order, references
from .intrinsics import Evaluator, ResolvedRefs
from .reading import load_template

__all__ = ["Evaluator", "ResolvedRefs", "TemplateError", "creation_order", "load_template", "references"]
