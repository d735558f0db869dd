"""The measured dependency choices are really installed (libraries.md: without httptools and uvloop
uvicorn falls back to h11 + asyncio and is 5x slower)."""

import importlib


def test_fast_http_stack_is_installed():
    for name in ("httptools", "uvloop"):
        importlib.import_module(name)
