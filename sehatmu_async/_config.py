"""Environments and the checks on client settings (all before any request)."""

from __future__ import annotations

import ipaddress
import math
import os
import warnings
from collections.abc import Mapping
from urllib.parse import urlsplit

import aiohttp

from .errors import ConfigurationError

__all__ = [
    "ENVIRONMENTS",
    "InsecureTransportWarning",
    "check_client_settings",
    "resolve_base_url",
    "resolve_timeout",
]

#: Base URLs from the platform's documents (``000_…`` and ``001_…``).
ENVIRONMENTS: Mapping[str, str] = {
    "development": "https://api-SehatMu-dev.dto.kemkes.go.id",
    "staging": "https://api-satusehat-stg.dto.kemkes.go.id",
}

# Per attempt: a third of the default 30 s budget per call, so a hung attempt still
# leaves time to retry (timeouts are retried for idempotent requests).
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=10.0, sock_connect=5.0)


class InsecureTransportWarning(UserWarning):
    """TLS verification is off, or credentials would travel over plain HTTP."""


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_base_url(environment: str | None, base_url: str | None) -> str:
    """The base URL to use, from an environment name or an explicit URL."""
    if base_url is not None and environment is not None:
        raise ConfigurationError("give either environment= or base_url=, not both")
    if base_url is None:
        if environment is not None and (
            not isinstance(environment, str) or not environment.strip()
        ):
            raise ConfigurationError(
                "environment must be 'development' or 'staging' (or leave it out for staging)"
            )
        name = (environment or "staging").strip().lower()
        if name == "sandbox":
            name = "staging"  # the documents call the staging platform their sandbox
        if name not in ENVIRONMENTS:
            known = ", ".join(sorted(ENVIRONMENTS))
            raise ConfigurationError(
                f"unknown environment {environment!r}: use one of {known}, or base_url= "
                "(production's URL is not in the documents and must be given as base_url)"
            )
        return ENVIRONMENTS[name]
    if not isinstance(base_url, str):
        raise ConfigurationError("base_url must be a string such as 'https://api.example'")
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"base_url {base_url!r} is not an http(s) URL with a host, e.g. "
            "'https://api-satusehat-stg.dto.kemkes.go.id'"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError("base_url must not carry a query string or fragment")
    if parts.username is not None or parts.password is not None:
        # aiohttp would send them as Basic auth next to the bearer token, and repr shows them.
        raise ConfigurationError(
            "base_url must not carry user:password@; the client authenticates with its own "
            "client id and secret"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        warnings.warn(
            f"base_url {parts.scheme}://{parts.hostname} is plain HTTP: the client secret and "
            "tokens will cross the network unencrypted. Use https outside a local sandbox.",
            InsecureTransportWarning,
            stacklevel=3,  # resolve_base_url <- SehatMuClient.__init__ <- the caller
        )
    return base_url.strip().rstrip("/")


def resolve_timeout(timeout: float | aiohttp.ClientTimeout | None) -> aiohttp.ClientTimeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, aiohttp.ClientTimeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise ConfigurationError("timeout must be seconds (a number) or an aiohttp.ClientTimeout")
    if not math.isfinite(timeout) or timeout <= 0:
        raise ConfigurationError("timeout must be a positive number of seconds")
    return aiohttp.ClientTimeout(total=float(timeout), sock_connect=min(10.0, float(timeout)))


def env_settings(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Read ``SEHATMU_*`` settings; missing credentials are a :class:`ConfigurationError`."""
    env = os.environ if environ is None else environ
    missing = [k for k in ("SEHATMU_CLIENT_ID", "SEHATMU_CLIENT_SECRET") if not env.get(k)]
    if missing:
        raise ConfigurationError(
            f"{' and '.join(missing)} not set: export the credentials the Ministry (DTO) "
            "issued, or run `sehatmu sandbox` and use the ones it prints"
        )
    return {
        "client_id": env["SEHATMU_CLIENT_ID"],
        "client_secret": env["SEHATMU_CLIENT_SECRET"],
        "environment": env.get("SEHATMU_ENVIRONMENT") or None,
        "base_url": env.get("SEHATMU_BASE_URL") or None,
    }


def check_client_settings(
    client_id: object, client_secret: object, connection_limit: object, verify_tls: bool
) -> None:
    """The credentials, pool size and TLS setting a client is built with."""
    if not isinstance(client_id, str) or not client_id.strip():
        raise ConfigurationError("client_id must be a non-empty string")
    if not isinstance(client_secret, str) or not client_secret.strip():
        raise ConfigurationError("client_secret must be a non-empty string")
    if (
        not isinstance(connection_limit, int)
        or isinstance(connection_limit, bool)
        or connection_limit < 1
    ):
        raise ConfigurationError("connection_limit must be a positive integer")
    if not verify_tls:
        warnings.warn(
            "TLS certificate verification is OFF: anyone on the network path can read "
            "the client secret and patient data. Use this only against a local sandbox.",
            InsecureTransportWarning,
            stacklevel=4,  # check_client_settings <- BaseClient <- SehatMuClient <- the caller
        )
