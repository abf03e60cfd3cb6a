"""The client for ``regions pull`` and ``token``: credentials from the environment only."""

from __future__ import annotations

import argparse
import os

from .._client import SehatMuClient
from ._failures import UsageError

__all__ = ["client_from_args"]


def client_from_args(args: argparse.Namespace) -> SehatMuClient:
    """``SehatMuClient.from_env`` with ``--environment``/``--base-url`` taking precedence.

    Raises ConfigurationError (exit 2) for missing credentials or a bad server setting.
    """
    for flag, value in (("--base-url", args.base_url), ("--environment", args.environment)):
        if value is not None and not value.strip():
            # from_env reads an empty variable as unset and would fall back to staging.
            raise UsageError(f"{flag} is empty")
    environ = dict(os.environ)
    # A flag replaces both variables: from_env lets SEHATMU_BASE_URL win over an
    # environment, which would silently ignore `--environment staging`.
    if args.base_url is not None:
        environ.pop("SEHATMU_ENVIRONMENT", None)
        environ["SEHATMU_BASE_URL"] = args.base_url
    elif args.environment is not None:
        environ.pop("SEHATMU_BASE_URL", None)
        environ["SEHATMU_ENVIRONMENT"] = args.environment
    return SehatMuClient.from_env(environ)
