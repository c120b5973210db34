"""Shared fixtures: every test that takes ``backend`` runs once on each of tinynet's backends."""

import os

import pytest
from hypothesis import settings

from tinynet._backend import BACKENDS, load_backend

# CI draws the same examples on every run (a failure there is reproducible, not a draw of luck);
# elsewhere hypothesis explores new ones each run.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(params=BACKENDS)
def backend(request):
    """A backend name; its kernels must load (a missing one is an error, not a skip)."""
    load_backend(request.param)
    return request.param
