"""The ``sehatmu`` command line: ``demo``, ``regions pull``, ``token`` and ``sandbox``.

Heavy imports (aiohttp, rich, the sandbox's data) happen inside each command, so
``sehatmu --help`` and ``sehatmu --version`` answer at once.
"""

from ._main import main

__all__ = ["main"]
