"""The one error the vector package raises for bad input: which parameter, and what is wrong with it."""

from __future__ import annotations


class InvalidParam(ValueError):
    """A parameter of a request is invalid. `param` is OpenAI's path to it (e.g.
    `filters.filters[1].value`, `chunking_strategy.static.max_chunk_size_tokens`); the API layer turns
    it into a 400 / INVALID_ARGUMENT with that `param`."""

    def __init__(self, message: str, *, param: str) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
