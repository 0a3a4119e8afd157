"""Features built from warehouse tables, one module per model."""
