"""sehatmu-async: the async Python SDK for Indonesia's SehatMu (SATUSEHAT) platform."""

from ._bundle import TransactionBundle, UnreconcilableEntryWarning
from ._bundle_result import BundleEntryResult, BundleResult
from ._client import SehatMuClient
from ._config import ENVIRONMENTS, InsecureTransportWarning
from ._datetime import WIB, WIT, WITA, fhir_date, fhir_datetime
from ._fhir_wire import SearchPage
from ._models import Region, RegionLevel
from ._outcome import OperationOutcome, OutcomeIssue
from ._patch import PatchOperation
from ._patient_models import (
    NIK_IBU_SYSTEM,
    NIK_SYSTEM,
    Address,
    AdministrativeCode,
    CodeableConcept,
    Coding,
    Communication,
    ContactPoint,
    HumanName,
    Identifier,
    Meta,
    Patient,
)
from ._rate_limit import LocalRateLimiter, RateLimiter, RedisRateLimiter
from ._redis_store import RedisTokenStore
from ._retry import RetryPolicy
from ._token import AccessToken
from ._token_store import MemoryTokenStore, SharedFailure, SharedToken, TokenStore, TokenStoreState
from ._version import __version__
from .errors import (
    APIError,
    AuthenticationError,
    CitizenNotFoundError,
    ConfigurationError,
    DuplicateResourceError,
    IncompleteDownloadError,
    MasterDataError,
    MultipleResultsError,
    NotFoundError,
    OutcomeUnknownError,
    PaginationError,
    PatientExistsError,
    PermissionDeniedError,
    RateLimitError,
    SehatMuError,
    ServerError,
    TransactionError,
    TransportError,
    ValidationError,
)
from .pagination import PageMeta, RegionPage, RegionPager
from .resources._fhir import Fhir
from .resources._fhir_pager import SearchPager
from .resources._regions import RegionStream

__all__ = [
    "ENVIRONMENTS",
    "NIK_IBU_SYSTEM",
    "NIK_SYSTEM",
    "WIB",
    "WIT",
    "WITA",
    "APIError",
    "AccessToken",
    "Address",
    "AdministrativeCode",
    "AuthenticationError",
    "BundleEntryResult",
    "BundleResult",
    "CitizenNotFoundError",
    "CodeableConcept",
    "Coding",
    "Communication",
    "ConfigurationError",
    "ContactPoint",
    "DuplicateResourceError",
    "Fhir",
    "HumanName",
    "Identifier",
    "IncompleteDownloadError",
    "InsecureTransportWarning",
    "LocalRateLimiter",
    "MasterDataError",
    "MemoryTokenStore",
    "Meta",
    "MultipleResultsError",
    "NotFoundError",
    "OperationOutcome",
    "OutcomeIssue",
    "OutcomeUnknownError",
    "PageMeta",
    "PaginationError",
    "PatchOperation",
    "Patient",
    "PatientExistsError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiter",
    "RedisRateLimiter",
    "RedisTokenStore",
    "Region",
    "RegionLevel",
    "RegionPage",
    "RegionPager",
    "RegionStream",
    "RetryPolicy",
    "SearchPage",
    "SearchPager",
    "SehatMuClient",
    "SehatMuError",
    "ServerError",
    "SharedFailure",
    "SharedToken",
    "TokenStore",
    "TokenStoreState",
    "TransactionBundle",
    "TransactionError",
    "TransportError",
    "UnreconcilableEntryWarning",
    "ValidationError",
    "__version__",
    "fhir_date",
    "fhir_datetime",
]
