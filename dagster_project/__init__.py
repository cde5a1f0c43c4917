"""Dagster definitions for Pesquisa: partitioned assets, sensors, schedules, backfills, checks.

``dagster_project.definitions:defs`` is the code location (``dagster dev -m
dagster_project.definitions``); the code is grouped by domain under ``dagster_project/defs``.
Assets call the same library functions as the CLI (``pipelines.*``). See docs/OPERATIONS.md.
"""
