"""Tramontane: a workflow service compatible with OpenStack Mistral's API v2.

The application factory lives in :mod:`app.factory`; this package module imports nothing, so that
the pure parts of the engine import without Flask, Celery or SQLAlchemy.
"""
