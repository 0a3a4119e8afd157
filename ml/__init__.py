"""NeuroWeaver as a plain library: text models, training and evaluation. No Dagster import here."""
