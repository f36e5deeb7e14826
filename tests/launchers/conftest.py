"""Launcher test fixtures: the plugin launcher installed as a distribution."""

from __future__ import annotations

from .plugin_site import plugin_site

__all__ = ["plugin_site"]
