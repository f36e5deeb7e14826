"""Tests of taskmill.engine."""
