"""Auterity Pipelines: the dealership group's data platform, as a Dagster code location."""
