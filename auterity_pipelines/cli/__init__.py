"""The `auterity` command line: what operators do outside the UI."""
