"""sehatmu-async: the async Python SDK for Indonesia's SehatMu (SATUSEHAT) platform."""

from ._client import SehatMuClient
from ._config import ENVIRONMENTS, InsecureTransportWarning
from ._models import Region, RegionLevel
from ._outcome import OperationOutcome, OutcomeIssue
from ._retry import RetryPolicy
from ._token import AccessToken
from ._version import __version__
# -- patients imports (Master Patient Index) --
# -- end patients imports --
# -- regions imports (Master Wilayah) --
# -- end regions imports --
from .errors import (
    APIError,
    AuthenticationError,
    CitizenNotFoundError,
    ConfigurationError,
    DuplicateResourceError,
    IncompleteDownloadError,
    MasterDataError,
    NotFoundError,
    OutcomeUnknownError,
    PaginationError,
    PatientExistsError,
    PermissionDeniedError,
    RateLimitError,
    SehatMuError,
    ServerError,
    TransportError,
    ValidationError,
)

__all__ = [
    "ENVIRONMENTS",
    "APIError",
    "AccessToken",
    "AuthenticationError",
    "CitizenNotFoundError",
    "ConfigurationError",
    "DuplicateResourceError",
    "IncompleteDownloadError",
    "InsecureTransportWarning",
    "MasterDataError",
    "NotFoundError",
    "OperationOutcome",
    "OutcomeIssue",
    "OutcomeUnknownError",
    "PaginationError",
    "PatientExistsError",
    "PermissionDeniedError",
    "RateLimitError",
    "Region",
    "RegionLevel",
    "RetryPolicy",
    "SehatMuClient",
    "SehatMuError",
    "ServerError",
    "TransportError",
    "ValidationError",
    "__version__",
    # -- patients exports --
    # -- end patients exports --
    # -- regions exports --
    # -- end regions exports --
]
