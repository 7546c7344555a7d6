"""Settings: flags over REJOINDER_* environment variables over a TOML file over defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rejoinder.config import (
    DEFAULT_PROVIDER,
    ConfigError,
    ModelSettings,
    Settings,
    UpstreamSettings,
    available_cores,
    load,
)

TOML = """
default_provider = "lan"

[server]
http_port = 9000
grpc_port = 9001
data_dir = "/var/lib/rejoinder"
envoy = false

[providers.lan]
base_url = "http://127.0.0.1:8000/v1"
api_key = "sk-local"
timeout_s = 60

[providers.cloud]
base_url = "https://api.example.com/v1"

[models.fast]
provider = "cloud"
model = "small-2"

[models.big]
provider = "lan"
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "rejoinder.toml"
    path.write_text(TOML)
    return path


def test_defaults() -> None:
    settings = load({}, env={})

    assert settings == Settings()
    assert settings.http_port == 8080
    assert settings.grpc_port == 50051
    assert settings.envoy is True
    assert settings.strict_json is True  # unknown JSON fields are a 400, as on OpenAI
    assert settings.providers == {}
    assert settings.default_provider is None


def test_file_values(config_file: Path) -> None:
    settings = load({"config": str(config_file)}, env={})

    assert settings.http_port == 9000
    assert settings.grpc_port == 9001
    assert settings.data_dir == Path("/var/lib/rejoinder")
    assert settings.envoy is False
    assert settings.default_provider == "lan"
    assert settings.providers["lan"] == UpstreamSettings(
        base_url="http://127.0.0.1:8000/v1",
        api_key="sk-local",
        timeout_s=60.0,
        first_token_timeout_s=60.0,  # the older `timeout_s` sets the two read timeouts
        idle_timeout_s=60.0,
    )
    assert settings.providers["cloud"].api_key is None
    assert settings.models == {
        "fast": ModelSettings(provider="cloud", upstream_model="small-2"),
        "big": ModelSettings(provider="lan", upstream_model="big"),
    }
    # what the file does not set keeps its default
    assert settings.http_host == "127.0.0.1"


def test_env_names_the_file(config_file: Path) -> None:
    settings = load({}, env={"REJOINDER_CONFIG": str(config_file)})

    assert settings.http_port == 9000


def test_env_over_file(config_file: Path) -> None:
    settings = load({}, env={"REJOINDER_CONFIG": str(config_file), "REJOINDER_HTTP_PORT": "9100"})

    assert settings.http_port == 9100
    assert settings.grpc_port == 9001


def test_flags_over_env(config_file: Path) -> None:
    env = {"REJOINDER_CONFIG": str(config_file), "REJOINDER_HTTP_PORT": "9100", "REJOINDER_GRPC_PORT": "9200"}

    settings = load({"http_port": 9300}, env=env)

    assert settings.http_port == 9300
    assert settings.grpc_port == 9200


def test_flags_that_were_not_given_do_not_override() -> None:
    settings = load({"http_port": None}, env={"REJOINDER_HTTP_PORT": "9100"})

    assert settings.http_port == 9100


def test_env_booleans() -> None:
    settings = load({}, env={"REJOINDER_ENVOY": "false", "REJOINDER_STRICT_JSON": "0"})

    assert settings.envoy is False
    assert settings.strict_json is False


def test_env_is_read_from_the_mapping_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REJOINDER_HTTP_PORT", "9999")

    assert load({}, env={}).http_port == 8080


def test_upstream_flag_makes_a_default_provider() -> None:
    settings = load({"upstream": "http://127.0.0.1:11434/v1/", "upstream_api_key": "sk-1"}, env={})

    assert settings.default_provider == DEFAULT_PROVIDER == "default"
    assert settings.providers[DEFAULT_PROVIDER] == UpstreamSettings(
        base_url="http://127.0.0.1:11434/v1", api_key="sk-1"
    )


def test_upstream_from_env() -> None:
    settings = load({}, env={"REJOINDER_UPSTREAM": "http://u.test/v1"})

    assert settings.providers["default"].base_url == "http://u.test/v1"
    assert settings.providers["default"].api_key is None


def test_upstream_joins_the_file_providers(config_file: Path) -> None:
    settings = load({"config": str(config_file), "upstream": "http://u.test/v1"}, env={})

    assert set(settings.providers) == {"lan", "cloud", "default"}
    assert settings.default_provider == "default"


def test_a_model_declares_its_context_window(tmp_path: Path) -> None:
    path = tmp_path / "window.toml"
    path.write_text(
        '[providers.a]\nbase_url = "http://a.test"\n\n[models.m]\nprovider = "a"\ncontext_window = 8192\n'
    )

    assert load({"config": str(path)}, env={}).models["m"].context_window == 8192


def test_model_naming_an_unknown_provider(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[providers.a]\nbase_url = "http://a.test"\n\n[models.m]\nprovider = "b"\n')

    with pytest.raises(ConfigError, match="'b'"):
        load({"config": str(path)}, env={})


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[server\nhttp_port = ", id="not TOML"),
        pytest.param('[server]\nhttp_port = "eighty"\n', id="port not a number"),
        pytest.param('[providers.a]\napi_key = "k"\n', id="provider without base_url"),
        pytest.param(
            '[providers.a]\nbase_url = "http://a.test"\n[models.m]\nmodel = "x"\n',
            id="model without provider",
        ),
        pytest.param("providers = 3\n", id="providers not a table"),
        pytest.param(
            '[providers.a]\nbase_url = "http://a.test"\n[models.m]\nprovider = "a"\ncontext_window = 0\n',
            id="context_window not positive",
        ),
    ],
)
def test_a_bad_toml_file(tmp_path: Path, text: str) -> None:
    """Anything wrong with the file is a ConfigError that says why, never a traceback."""
    path = tmp_path / "bad.toml"
    path.write_text(text)

    with pytest.raises(ConfigError):
        load({"config": str(path)}, env={})


def test_a_bad_env_value() -> None:
    with pytest.raises(ConfigError):
        load({}, env={"REJOINDER_HTTP_PORT": "eighty"})


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load({"config": str(tmp_path / "absent.toml")}, env={})


def test_the_local_provider_name_is_reserved(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[providers.local]\nbase_url = "http://x.test/v1"\n')
    with pytest.raises(ConfigError, match="reserved"):
        load({"config": str(path)}, env={})


def test_local_model_settings_from_file_env_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[local]\nenabled = true\nn_threads = 2\nmax_waiting = 3\n")
    settings = load(
        {"config": str(path), "local_n_threads": 4}, env={"REJOINDER_LOCAL_MODEL_PATH": "/m.gguf"}
    )
    assert (
        settings.local.enabled is True and settings.local.n_threads == 4 and settings.local.max_waiting == 3
    )
    assert str(settings.local.model_path) == "/m.gguf"
    with pytest.raises(ConfigError):
        load({"local_n_threads": "many"}, env={})


def test_store_and_background_lease_from_file_env_and_flags(tmp_path: Path) -> None:
    assert (Settings().store, Settings().background_lease_s) == (None, 15.0)
    path = tmp_path / "rejoinder.toml"
    path.write_text('[server]\nstore = "postgresql://file@db/r"\nbackground_lease_s = 30\n')
    from_file = load({"config": str(path)}, env={})
    assert (from_file.store, from_file.background_lease_s) == ("postgresql://file@db/r", 30.0)
    env = {"REJOINDER_STORE": "postgresql://env@db/r", "REJOINDER_BACKGROUND_LEASE_S": "5"}
    from_env = load({"config": str(path)}, env=env)
    assert (from_env.store, from_env.background_lease_s) == ("postgresql://env@db/r", 5.0)
    flags = load({"config": str(path), "store": "postgresql://flag@db/r", "background_lease_s": 2.5}, env=env)
    assert (flags.store, flags.background_lease_s) == ("postgresql://flag@db/r", 2.5)
    for bad in ("soon", "0"):
        with pytest.raises(ConfigError, match="background_lease_s"):
            load({"background_lease_s": bad}, env={})


def test_api_key_hashes_and_where_an_open_server_may_listen(tmp_path: Path) -> None:
    good = "sha256:" + "ab" * 32
    path = tmp_path / "rejoinder.toml"
    path.write_text(f'[server]\nhttp_host = "0.0.0.0"\n[auth.tenants]\nacme = ["{good}"]\n')
    assert load({"config": str(path)}, env={}).auth_tenants == {"acme": (good,)}
    with pytest.raises(ConfigError, match="needs API keys"):
        load({"http_host": "0.0.0.0"}, env={})  # open, but not on loopback
    with pytest.raises(ConfigError, match="needs API keys"):
        load({"grpc_host": "10.0.0.5"}, env={})
    assert load({"http_host": "::1", "grpc_host": "localhost"}, env={}).auth_tenants == {}
    for bad in ('["sk-plain-key"]', '"sha256:' + "ab" * 32 + '"', '["sha256:' + "zz" * 32 + '"]'):
        path.write_text(f"[auth.tenants]\nacme = {bad}\n")
        with pytest.raises(ConfigError, match="acme"):
            load({"config": str(path)}, env={})


@pytest.mark.parametrize("workers", [0, -1, 65])
def test_workers_outside_one_to_64_are_refused(workers: int) -> None:
    with pytest.raises(ConfigError, match="workers must be between 1 and 64"):
        load({"workers": workers}, env={})


def test_workers_from_the_file_and_the_environment(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("[server]\nworkers = 4\n")

    assert load({"config": file}, env={}).workers == 4
    assert load({"config": file}, env={"REJOINDER_WORKERS": "2"}).workers == 2
    assert load({}, env={}).workers == available_cores()


def test_by_default_workers_are_the_cores_this_process_may_use(tmp_path: Path) -> None:
    unlimited, quota = tmp_path / "unlimited", tmp_path / "quota"
    unlimited.write_text("max 100000\n")
    quota.write_text("150000 100000\n")  # 1.5 CPUs: 2 workers

    affinity = len(os.sched_getaffinity(0))
    assert available_cores(tmp_path / "absent") == affinity
    assert available_cores(unlimited) == affinity
    assert available_cores(quota) == min(affinity, 2)
