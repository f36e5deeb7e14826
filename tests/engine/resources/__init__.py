"""Importable step targets and helper modules for the engine tests (the fork server imports them)."""
