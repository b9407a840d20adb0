"""Plain helpers the tests import: builders, checks, canned responses, page parsers.

Fixtures live in `tests/fixtures/` (loaded once by `tests/conftest.py`); nothing here is a
fixture, and no test imports from a conftest or from another test module.
"""
