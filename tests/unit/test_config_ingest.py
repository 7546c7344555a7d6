"""`ingest_concurrency`: how many vector store files one process ingests at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from rejoinder.config import ConfigError, load


def test_it_defaults_to_two_and_is_read_from_the_file_and_the_environment(tmp_path: Path) -> None:
    assert load({}, env={}).ingest_concurrency == 2
    config = tmp_path / "rejoinder.toml"
    config.write_text("[server]\ningest_concurrency = 4\n")
    assert load({"config": str(config)}, env={}).ingest_concurrency == 4
    assert load({}, env={"REJOINDER_INGEST_CONCURRENCY": "3"}).ingest_concurrency == 3


@pytest.mark.parametrize("value", ["0", "65", "two"])
def test_a_bad_value_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="ingest_concurrency"):
        load({}, env={"REJOINDER_INGEST_CONCURRENCY": value})
