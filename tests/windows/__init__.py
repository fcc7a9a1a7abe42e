"""The Windows test suite: ConPTY for real, run with a Windows CPython (under Wine in CI)."""
