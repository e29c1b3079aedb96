"""STS, the subset SDK credential chains need: GetCallerIdentity and AssumeRole (roles from the credentials file,
temporary keys with an expiry)."""

from pipework.services.sts.api import Identities, StsService

__all__ = ["Identities", "StsService"]
