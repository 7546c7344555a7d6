"""Reading Prometheus text pages in tests: every sample by name and labels, and what moved between two."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, frozenset[tuple[str, str]]]


def scrape(url: str) -> dict[Sample, float]:
    """Every sample of a Prometheus text page, by name and labels."""
    text = httpx.get(url, timeout=5).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


class Moved:
    """What moved between two scrapes."""

    def __init__(self, before: dict[Sample, float], after: dict[Sample, float]) -> None:
        self._before, self._after = before, after

    def __call__(self, name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return self._after.get(key, 0.0) - self._before.get(key, 0.0)

    def summed(self, name: str, **labels: str) -> float:
        """The change of every series of `name` that has `labels` (whatever its other labels)."""
        wanted = set(labels.items())
        return sum(
            value - self._before.get(key, 0.0)
            for key, value in self._after.items()
            if key[0] == name and wanted <= key[1]
        )
