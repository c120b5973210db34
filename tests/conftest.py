"""Shared fixtures: every test that takes ``backend`` runs once on each of tinynet's backends."""

import pytest

from tinynet._backend import BACKENDS, load_backend


@pytest.fixture(params=BACKENDS)
def backend(request):
    """A backend name; its kernels must load (a missing one is an error, not a skip)."""
    load_backend(request.param)
    return request.param
