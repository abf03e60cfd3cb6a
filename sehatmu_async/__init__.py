"""sehatmu-async: the async Python SDK for Indonesia's SehatMu (SATUSEHAT) platform."""

from ._client import SehatMuClient
from ._config import ENVIRONMENTS, InsecureTransportWarning
from ._outcome import OperationOutcome, OutcomeIssue
from ._retry import RetryPolicy
from ._token import AccessToken
from ._version import __version__

# -- regions imports (Master Wilayah) --
from ._models import Region, RegionLevel
from .pagination import PageMeta, RegionPage, RegionPager
from .resources._regions import RegionStream

# -- end regions imports --
# -- patients imports (Master Patient Index) --
from ._datetime import WIB, WIT, WITA, fhir_date, fhir_datetime
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
# -- end patients imports --
# -- fleet imports (shared token and request rate; redis itself is imported by the user) --
from ._rate_limit import LocalRateLimiter, RateLimiter, RedisRateLimiter
from ._redis_store import RedisTokenStore
from ._token_store import MemoryTokenStore, SharedFailure, SharedToken, TokenStore, TokenStoreState

# -- end fleet imports --
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
    "RetryPolicy",
    "SehatMuClient",
    "SehatMuError",
    "ServerError",
    "TransportError",
    "ValidationError",
    "__version__",
    # -- regions exports --
    "PageMeta",
    "Region",
    "RegionLevel",
    "RegionPage",
    "RegionPager",
    "RegionStream",
    # -- end regions exports --
    # -- patients exports --
    "NIK_IBU_SYSTEM",
    "NIK_SYSTEM",
    "WIB",
    "WIT",
    "WITA",
    "Address",
    "AdministrativeCode",
    "CodeableConcept",
    "Coding",
    "Communication",
    "ContactPoint",
    "HumanName",
    "Identifier",
    "Meta",
    "PatchOperation",
    "Patient",
    "fhir_date",
    "fhir_datetime",
    # -- end patients exports --
    # -- fleet exports --
    "LocalRateLimiter",
    "MemoryTokenStore",
    "RateLimiter",
    "RedisRateLimiter",
    "RedisTokenStore",
    "SharedFailure",
    "SharedToken",
    "TokenStore",
    "TokenStoreState",
    # -- end fleet exports --
]

# -- fhir (every resource type) --
from ._fhir_wire import SearchPage
from .errors import MultipleResultsError
from .resources._fhir import Fhir
from .resources._fhir_pager import SearchPager

__all__ += ["Fhir", "MultipleResultsError", "SearchPage", "SearchPager"]

# -- transaction bundles (txn) --
from ._bundle import TransactionBundle, UnreconcilableEntryWarning
from ._bundle_result import BundleEntryResult, BundleResult
from .errors import TransactionError

__all__ += [
    "BundleEntryResult",
    "BundleResult",
    "TransactionBundle",
    "TransactionError",
    "UnreconcilableEntryWarning",
]
