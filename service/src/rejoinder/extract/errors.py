"""The one error of text extraction."""

from __future__ import annotations


class ExtractError(Exception):
    """The file cannot be turned into text. `message` is for the user as it is; `unsupported` says the
    kind of file is one we do not read at all (an image, an archive), rather than a broken file of a
    kind we do read."""

    def __init__(self, message: str, *, unsupported: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.unsupported = unsupported
