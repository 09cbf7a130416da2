"""Orchestration: the warehouse, ingest, the ``reab`` CLI and the Dagster code location.

Library modules here (``warehouse``, ``ingest``, ``cli``) do not import Dagster; the
Dagster definitions live in ``defs/`` and are assembled by ``definitions.py``.
"""
