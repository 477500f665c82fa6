"""The workflow engine.

``language``, ``expressions``, ``states``, ``commands`` and ``controller`` are pure: they import
nothing from Flask, Celery, SQLAlchemy or requests, and read no environment. ``service`` is the only
module that opens transactions and changes execution state.
"""
