"""The `rejoinder` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import uvloop

from rejoinder import config, logs
from rejoinder.api.auth import hash_key
from rejoinder.edge.envoy_process import EnvoyError
from rejoinder.launcher import serve


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rejoinder", description="OpenAI-compatible Responses API service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run gRPC and the Envoy REST edge")
    serve.add_argument("--config", type=Path, help="TOML config file (providers, models, server)")
    serve.add_argument("--http-port", type=int, help="Envoy REST port (default 8080)")
    serve.add_argument("--http-host", help="Envoy REST address (default 127.0.0.1)")
    serve.add_argument("--grpc-port", type=int, help="gRPC port (default 50051)")
    serve.add_argument("--grpc-host", help="gRPC address (default 127.0.0.1)")
    serve.add_argument("--data-dir", type=Path, help="where SQLite and Envoy's files live (default ./data)")
    serve.add_argument(
        "--store",
        help="postgresql://user:pass@host:port/db to share responses between replicas (default SQLite)",
    )
    serve.add_argument(
        "--background-lease-s",
        type=float,
        help="fail a background run whose server has not been heard of for this long (default 15)",
    )
    serve.add_argument("--upstream", help="OpenAI-compatible /v1 base URL that every model routes to")
    serve.add_argument("--upstream-api-key", help="API key for --upstream")
    serve.add_argument(
        "--upstream-type",
        help="adapter for --upstream: openai-compatible (default), vllm, ollama, llamacpp, openai",
    )
    serve.add_argument(
        "--local",
        dest="local_enabled",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the built-in local model (default: only when no upstream is configured)",
    )
    serve.add_argument(
        "--local-model", dest="local_model_path", type=Path, help="a GGUF file for the local model"
    )
    serve.add_argument(
        "--local-threads", dest="local_n_threads", type=int, help="threads for the local model"
    )
    serve.add_argument("--no-envoy", dest="envoy", action="store_const", const=False, help="gRPC only")
    serve.add_argument(
        "--strict-json",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="reject unknown JSON fields with a 400, as OpenAI does (default); --no-strict-json ignores them",
    )
    serve.add_argument(
        "--drain-s",
        type=float,
        help="on SIGTERM, how long running calls may finish before they are ended (default 20)",
    )
    serve.add_argument("--log-level", default="INFO")
    sub.add_parser(
        "hash-key", help="read an API key on stdin, print the hash to put in [auth.tenants] of the config"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "hash-key":
        key = sys.stdin.readline().strip()
        if not key:
            print("rejoinder: no key on stdin", file=sys.stderr)
            return 2
        print(hash_key(key))
        return 0
    logs.configure(args.log_level)
    for chatty in ("httpx", "httpx2", "httpcore", "mcp"):  # a line per upstream request is not ours to log
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
    flags = {k: v for k, v in vars(args).items() if k not in ("command", "log_level")}
    try:
        settings = config.load(flags)
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


if __name__ == "__main__":
    sys.exit(main())
