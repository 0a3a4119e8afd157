"""AI enrichment's domain: the tasks, their prompts and answer schemas, and PII redaction."""
