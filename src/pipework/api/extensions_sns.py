"""SNS's certificate under ``/_pipework/sns``: every message's ``SigningCertURL`` points here, so code that verifies
SNS signatures can fetch the certificate of the key that signed it.

    GET /_pipework/sns/signing-cert.pem      the PEM certificate (application/x-pem-file)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from pipework.api.instance import Instance

CERT_PATH = "/_pipework/sns/signing-cert.pem"


def routes(current: Callable[[], Instance]) -> list[Route]:
    """The routes, for the instance `current()` returns (the one the app's lifespan opened)."""

    async def certificate(request: Request) -> Response:
        return Response(current().sns.certificate_pem, media_type="application/x-pem-file")

    return [Route(CERT_PATH, certificate, methods=["GET"])]
