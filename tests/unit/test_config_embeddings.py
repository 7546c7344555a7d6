"""`[embeddings]`: the embedded model by default, an upstream's model by name, bad values refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from rejoinder.config import ConfigError, load
from rejoinder.config_embeddings import EmbeddingSettings, embedding_settings


def test_the_default_is_the_local_model() -> None:
    assert embedding_settings({}) == EmbeddingSettings("local", None, None, None, 60.0)
    assert load({}, env={}).embeddings == EmbeddingSettings()


def test_an_upstream_model_is_taken() -> None:
    doc = {"provider": "openai", "model": "text-embedding-3-small", "dimensions": 512, "batch_size": 100}
    assert embedding_settings(doc) == EmbeddingSettings("openai", "text-embedding-3-small", 512, 100, 60.0)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"provider": "openai"}, "provider 'openai' needs a model"),
        ({"model": "text-embedding-3-small"}, "the local provider has its own"),
        ({"dimensions": 100}, "local model must be 64, 128 or 256, not 100"),
        ({"dimensions": 0}, "dimensions must be a whole number of at least 1"),
        ({"batch_size": "8"}, "batch_size must be a whole number"),
        ({"timeout_s": 0}, "timeout_s must be a number of seconds above 0"),
        ({"provider": ""}, "provider must be 'local' or a provider's name"),
        ({"dimension": 64}, "[embeddings] has no key 'dimension'"),
    ],
)
def test_bad_settings_are_refused_by_name(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        embedding_settings(doc)
    assert message in str(refused.value)


def test_the_provider_must_be_configured(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[embeddings]\nprovider = "nowhere"\nmodel = "m"\n')
    with pytest.raises(ConfigError, match="provider 'nowhere' is neither 'local' nor a configured provider"):
        load({"config": str(path)}, env={})

    path.write_text(
        '[providers.up]\nbase_url = "http://127.0.0.1:1/v1"\n[embeddings]\nprovider = "up"\nmodel = "m"\n'
    )
    assert load({"config": str(path)}, env={}).embeddings.provider == "up"


def test_a_bad_section_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[embeddings]\ndimensions = 100\n")
    with pytest.raises(ConfigError, match=r"c.toml: \[embeddings\] dimensions of the local model"):
        load({"config": str(path)}, env={})
