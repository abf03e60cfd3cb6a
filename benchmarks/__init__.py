"""Benchmarks: the SDK against a plain aiohttp client doing the same requests.

Run with ``python -m benchmarks`` (see ``python -m benchmarks --help``).
"""
