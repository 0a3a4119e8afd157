"""Prometheus metrics read from where the truth is (the warehouse and the Dagster instance) at
each scrape, so they are right across processes and restarts; served by `auterity metrics serve`."""
