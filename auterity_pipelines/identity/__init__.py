"""One customer and one vehicle across rooftops: normalisation, matching rules and profiles, without Dagster."""
