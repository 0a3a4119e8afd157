"""Data quality: the checks every conformed rooftop-day passes, as plain functions (no Dagster).

`suites` says what each contract table must satisfy, `gx` runs it through Great Expectations
(imported only there, it takes seconds), `volume` judges a day's row count against its history.
"""
