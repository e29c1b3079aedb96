"""Authentication and authorization failures as AWS words them: each has a JSON-protocol code (JSON 1.0/1.1,
restJson1) and a query-protocol code (the XML APIs, and SQS's ``x-amzn-query-error``)."""

from __future__ import annotations

from pipework.services.base import ServiceError

#: kind → (JSON code, query code, HTTP status)
CODES: dict[str, tuple[str, str, int]] = {
    "missing": ("MissingAuthenticationTokenException", "MissingAuthenticationToken", 403),
    "incomplete": ("IncompleteSignatureException", "IncompleteSignature", 403),
    "unknown-key": ("UnrecognizedClientException", "InvalidClientTokenId", 403),
    "signature": ("InvalidSignatureException", "SignatureDoesNotMatch", 403),
    "expired": ("InvalidSignatureException", "RequestExpired", 400),
    "token-expired": ("ExpiredTokenException", "ExpiredToken", 403),
    "token-invalid": ("UnrecognizedClientException", "InvalidClientTokenId", 403),
    "denied": ("AccessDeniedException", "AccessDenied", 403),
    "authorization": ("AuthorizationError", "AuthorizationError", 403),  # SNS's AccessDenied
    "throttled": ("ThrottlingException", "Throttling", 400),
    "too-large": ("RequestEntityTooLargeException", "RequestEntityTooLarge", 413),
}

#: JSON code → query code, for the wire layer's ``x-amzn-query-error`` (a query-compatible JSON API such as SQS).
QUERY_CODES = {json: query for json, query, _ in CODES.values() if json != "InvalidSignatureException"}
QUERY_CODES["InvalidSignatureException"] = "SignatureDoesNotMatch"

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
UNKNOWN_KEY = "The security token included in the request is invalid."


class AuthError(Exception):
    """A request refused before (authentication) or instead of (authorization) running its operation."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def as_service_error(self, *, query: bool = False) -> ServiceError:
        """The error in the JSON protocols' code, or the query protocol's when `query`."""
        json_code, query_code, status = CODES[self.kind]
        return ServiceError(query_code if query else json_code, self.message, status)
