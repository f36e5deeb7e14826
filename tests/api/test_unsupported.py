"""Declared-unsupported members: a taskmill error with a hint, never AttributeError; introspectable."""

from __future__ import annotations

import inspect

import pytest

from taskmill.api.unsupported import UnsupportedFeatureError, unsupported, unsupported_attribute
from taskmill.errors import TaskmillError


class Base:
    old_call = unsupported("use new_call()")
    old_field = unsupported_attribute("read new_field")


class Child(Base):
    pass


def test_calling_or_reading_raises_naming_the_class_used() -> None:
    with pytest.raises(UnsupportedFeatureError, match=r"Child\.old_call .*use new_call\(\)"):
        Child().old_call(1, x=2)
    with pytest.raises(UnsupportedFeatureError, match=r"Child\.old_call"):
        Child.old_call()
    with pytest.raises(UnsupportedFeatureError, match=r"Child\.old_field .*read new_field"):
        _ = Child().old_field
    error = UnsupportedFeatureError("x")
    assert isinstance(error, TaskmillError) and isinstance(error, NotImplementedError)
    assert not isinstance(error, AttributeError)


def test_the_class_stays_introspectable() -> None:
    names = dict(inspect.getmembers(Child))
    assert "old_call" in names and "old_field" in names
    assert hasattr(Child, "old_field") and Child.old_call.__name__ == "old_call"
