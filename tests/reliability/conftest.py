"""The reliability suite uses the shared fakes of ``tests/_fakes.py`` (fixtures in
``tests/conftest.py``); it has no fixtures of its own."""
