"""Dealership events: how they are signed, what they look like, and the durable inbox they land in."""
