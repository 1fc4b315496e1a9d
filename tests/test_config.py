"""Shared defaults are finite, frozen and validated."""

import dataclasses

import pytest

from wirekit.config import DEFAULT_LIMITS, DEFAULT_TIMEOUTS, Limits, Timeouts
from wirekit.errors import ConfigError


def test_every_default_timeout_is_finite():
    for field in dataclasses.fields(Timeouts):
        value = getattr(DEFAULT_TIMEOUTS, field.name)
        assert value is not None and 0 < value <= 120, field.name


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_LIMITS.max_body = 1  # type: ignore[misc]


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "5", True])
def test_bad_values_are_refused_with_the_field_named(bad):
    with pytest.raises(ConfigError, match="connect"):
        Timeouts(connect=bad)
    with pytest.raises(ConfigError, match="max_body"):
        Limits(max_body=bad)


def test_none_means_no_timeout_only_when_asked():
    assert Timeouts(read=None).read is None
    assert dataclasses.replace(DEFAULT_LIMITS, max_body=5).max_body == 5
