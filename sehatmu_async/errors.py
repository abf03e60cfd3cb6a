"""Every error the SDK raises.

::

    SehatMuError
    ├── ConfigurationError            bad settings, bad arguments (before any request)
    ├── TransportError                connection failed, timed out, reset
    │   └── OutcomeUnknownError       a non-idempotent request may or may not have taken effect
    ├── PaginationError               cursor loop, malformed meta, foreign next link
    │   └── IncompleteDownloadError   fewer items delivered than the server's total
    ├── MultipleResultsError          one() found more than one
    └── APIError                      status, method, url, request_id, body (text), outcome
        ├── AuthenticationError       401, bad client credentials, gateway ``fault``
        ├── PermissionDeniedError     403, "resource cannot be accessed due to business rule"
        ├── NotFoundError             404
        ├── RateLimitError            429, retry_after
        ├── ServerError               5xx (text/plain bodies kept)
        ├── MasterDataError           {"status_code", "message", "data"} envelope
        └── ValidationError           OperationOutcome: .issues
            ├── DuplicateResourceError  .existing_id (when found)
            ├── PatientExistsError    .patient_id
            ├── CitizenNotFoundError
            └── TransactionError      .entries (which entry failed first, which after it)

``APIError`` itself is raised for answers that fit no other shape (an HTML page
where JSON was due, a truncated body, wrong types).

No error carries a client secret or an access token: messages are built from
the status, method, path, request id and a bounded excerpt of bodies that never
hold credentials.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._outcome import OperationOutcome, OutcomeIssue

if TYPE_CHECKING:
    from ._bundle_result import BundleEntryResult

__all__ = [
    "APIError",
    "AuthenticationError",
    "CitizenNotFoundError",
    "ConfigurationError",
    "DuplicateResourceError",
    "IncompleteDownloadError",
    "MasterDataError",
    "MultipleResultsError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PaginationError",
    "PatientExistsError",
    "PermissionDeniedError",
    "RateLimitError",
    "SehatMuError",
    "ServerError",
    "TransactionError",
    "TransportError",
    "ValidationError",
]


class SehatMuError(Exception):
    """Base of every error this SDK raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message: str = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(SehatMuError, ValueError):
    """A setting or argument is wrong; raised before any request is sent."""


class TransportError(SehatMuError):
    """The request failed on the network: refused, timed out, reset, or closed early."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        url: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.attempts = attempts


class OutcomeUnknownError(TransportError):
    """A request that must not be repeated may or may not have taken effect.

    ``payload`` is what was sent (kept so nothing is lost). ``resource_type`` and
    ``identifiers`` (``(system, value)`` pairs) are what the stored resource can be found
    by: the transport raises this error without them, and the resource that knows them
    adds them with :meth:`add_context` (``client.fhir.reconcile(err)`` uses them).
    ``nik`` is the Patient's NIK, for ``client.patients.search_by_nik(err.nik)``.
    ``status`` is set when the platform answered with a 5xx after receiving it.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        url: str | None = None,
        attempts: int = 1,
        payload: Any = None,
        nik: str | None = None,
        status: int | None = None,
        resource_type: str | None = None,
        identifiers: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message, method=method, url=url, attempts=attempts)
        self.payload = payload
        self.nik = nik
        self.status = status
        self.resource_type = resource_type
        self.identifiers: tuple[tuple[str, str], ...] = tuple(identifiers)

    def add_context(
        self,
        *,
        resource_type: str | None = None,
        identifiers: Iterable[tuple[str, str]] = (),
        nik: str | None = None,
        hint: str | None = None,
    ) -> None:
        """Add what the resource layer knows (the transport does not) to this same error.

        ``hint`` is one sentence on how to reconcile, appended to the message.
        """
        if resource_type is not None:
            self.resource_type = resource_type
        if nik is not None:
            self.nik = nik
        self.identifiers = (*self.identifiers, *identifiers)
        if hint:
            self.message = f"{self.message} {hint}"
            self.args: tuple[Any, ...] = (self.message,)


class PaginationError(SehatMuError):
    """The server's pagination cannot be followed safely (cursor loop, malformed meta)."""


class IncompleteDownloadError(PaginationError):
    """A download delivered fewer regions than the server said exist."""

    def __init__(self, message: str, *, expected: int, delivered: int) -> None:
        super().__init__(message)
        self.expected = expected
        self.delivered = delivered


class MultipleResultsError(SehatMuError):
    """A search meant to find one resource found several; ``count`` is how many (at least)."""

    def __init__(self, message: str, *, resource_type: str | None = None, count: int = 2) -> None:
        super().__init__(message)
        self.resource_type = resource_type
        self.count = count


class APIError(SehatMuError):
    """The platform answered, and the answer is an error (or unreadable)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        url: str,
        request_id: str | None = None,
        body: str = "",
        outcome: OperationOutcome | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.url = url
        self.request_id = request_id
        #: A bounded excerpt of the response body, decoded as text.
        self.body = body
        self.outcome = outcome


class AuthenticationError(APIError):
    """Credentials or the access token were refused (401, gateway ``fault``)."""


class PermissionDeniedError(APIError):
    """The client is authenticated but may not touch this resource (403)."""


class NotFoundError(APIError):
    """The resource or path does not exist (404)."""


class RateLimitError(APIError):
    """Too many requests (429); ``retry_after`` is in seconds when the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(APIError):
    """The platform failed (5xx); its text/plain body is kept in ``body``."""


class MasterDataError(APIError):
    """Master Wilayah refused the request with its ``status_code`` envelope."""

    def __init__(self, message: str, *, api_message: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        #: The envelope's own ``message``, e.g. ``limit cannot be more than 2000``.
        self.api_message = api_message


class ValidationError(APIError):
    """The platform (or the SDK's pre-flight check) refused a payload."""

    @property
    def issues(self) -> tuple[OutcomeIssue, ...]:
        return self.outcome.issues if self.outcome is not None else ()

    @property
    def rule_numbers(self) -> tuple[int, ...]:
        return self.outcome.rule_numbers if self.outcome is not None else ()


class DuplicateResourceError(ValidationError):
    """The platform already received this payload; it must not be sent again.

    ``existing_id`` is the stored resource's id when the SDK could find it by identifier.
    """

    def __init__(self, message: str, *, existing_id: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.existing_id = existing_id


class PatientExistsError(ValidationError):
    """A Patient with this identifier already exists; ``patient_id`` is its id."""

    def __init__(self, message: str, *, patient_id: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.patient_id = patient_id


class CitizenNotFoundError(ValidationError):
    """The NIK is not in the civil registry (Dukcapil): "Citizen Not Exists"."""


class TransactionError(ValidationError):
    """A transaction Bundle was refused, by the platform or the SDK's pre-flight check.

    Nothing of the bundle was stored. ``entries`` has one ``BundleEntryResult`` per
    entry sent, in order: :attr:`first_failure` is the entry that failed first (its
    ``outcome`` says why), :attr:`refused` those refused "due to previous error"
    (rules 20012/20013). Fix the failing entry and send the whole bundle again.
    """

    def __init__(
        self, message: str, *, entries: Iterable[BundleEntryResult] = (), **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.entries: tuple[BundleEntryResult, ...] = tuple(entries)

    @property
    def first_failure(self) -> BundleEntryResult | None:
        """The first entry refused for its own sake, or None if the platform named none."""
        for entry in self.entries:
            failed = entry.outcome is not None and entry.outcome.is_failure
            if failed and not entry.due_to_previous_error:
                return entry
        return None

    @property
    def refused(self) -> tuple[BundleEntryResult, ...]:
        """The entries refused only because an earlier one failed."""
        return tuple(entry for entry in self.entries if entry.due_to_previous_error)
