"""Fetching `file_url` inputs: http(s) only, bounded in size and time, run off the event loop."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from dataclasses import dataclass

from rejoinder.errors import invalid

USER_AGENT = "rejoinder-file-fetch/1"


@dataclass(frozen=True)
class UrlFetcher:
    """Fetches a URL's bytes and content type. Raises `ApiError` (400) when it cannot."""

    max_bytes: int = 32 * 1024 * 1024
    timeout_s: float = 15.0

    async def __call__(self, url: str) -> tuple[bytes, str]:
        if not url.startswith(("http://", "https://")):
            raise invalid("file_url must be an http(s) URL.", param="file_url", code="invalid_value")
        return await asyncio.to_thread(self._get, url)

    def _get(self, url: str) -> tuple[bytes, str]:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                body = reply.read(self.max_bytes + 1)
                mime = reply.headers.get_content_type() if reply.headers.get("content-type") else ""
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise invalid(
                f"The file at file_url could not be fetched: {exc}",
                param="file_url",
                code="file_fetch_failed",
            ) from exc
        if len(body) > self.max_bytes:
            raise invalid(
                f"The file at file_url is larger than {self.max_bytes} bytes.",
                param="file_url",
                code="file_too_large",
            )
        return body, mime
