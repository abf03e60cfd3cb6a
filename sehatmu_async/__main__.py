"""``python -m sehatmu_async``: the ``sehatmu`` command line."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
