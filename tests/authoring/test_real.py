"""The loader of the real law bundles fails loudly: a missing or broken bundle is a failure, not a skip."""

from __future__ import annotations

import pytest
from conftest import real


def test_a_missing_bundle_fails_the_test() -> None:
    with pytest.raises(pytest.fail.Exception, match="not in the checkout"):
        real("policies/no-such-bundle")


def test_a_bundle_that_does_not_load_fails_the_test() -> None:
    with pytest.raises(pytest.fail.Exception, match="does not load: BundleInvalid"):
        real("tests/fixtures/policies/broken")


def test_a_real_bundle_loads() -> None:
    assert real("policies/nl-jgz").name == "nl-jgz"
