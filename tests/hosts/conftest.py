"""The browser tests' Chromium and their report hook (a screenshot of a failed test), for the hosts' tests."""

from ..browser.conftest import browser, pytest_runtest_makereport  # noqa: F401
