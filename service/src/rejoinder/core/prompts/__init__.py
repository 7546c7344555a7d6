"""Prompt templates: their CRUD with versions per tenant (`templates`), and the resolution of a create
request's `prompt` into the message it puts first in the context (`resolve`, `variables`)."""
