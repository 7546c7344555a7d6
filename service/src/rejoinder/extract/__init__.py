"""Text out of the files people upload: PDF, plain text, Markdown, HTML, JSON, code, .docx and .pptx.

`extract_text(data, filename=..., content_type=...)` is the one entry point (`extract.py`); it is
synchronous and CPU-bound, so async callers run it in a thread (`asyncio.to_thread`).
"""

from rejoinder.extract.errors import ExtractError
from rejoinder.extract.extract import Extracted, extract_text

__all__ = ["ExtractError", "Extracted", "extract_text"]
