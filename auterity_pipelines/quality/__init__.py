"""Data quality: the checks every conformed rooftop-day passes, as plain functions (no Dagster).

`suites` says what each contract table must satisfy, `gx` runs it through Great Expectations
(imported only there, it takes seconds), `volume` judges a day's row count against its history,
`rows` holds the rows a load conformed until they are checked, and `runner` puts them together
(a day, or a month judged day by day).
"""
