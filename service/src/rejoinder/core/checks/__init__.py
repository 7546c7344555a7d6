"""Request checks: every 400 about a create request's shape, its limits, its JSON text."""
