"""The built-in local model: tokens/s and time to first token through the service vs. llama.cpp
called directly, same model, prompts, settings and thread count.

    python -m bench.local [--runs 5] [--tokens 128]

Direct: `llama_cpp.Llama.create_chat_completion(stream=True)` in this process. Service:
`rejoinder serve` with no upstream (the local model is the default), `POST /v1/responses` with
`stream: true` through Envoy, timed to the first `response.output_text.delta` and over the deltas.
Loopback only; stops the service when done. Results also go to bench/results/<time>-local.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

PROMPTS = [f"Story {i}: write a long story about a brave knight and a dragon." for i in range(10)]
RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Run:
    """One generation: time to first token and steady tokens per second."""

    ttft_ms: float
    tokens: int
    tokens_per_s: float


def _rate(first: float, total: float, tokens: int) -> float:
    return (tokens - 1) / (total - first) if tokens > 1 and total > first else 0.0


def direct_runs(runs: int, max_tokens: int) -> list[Run]:
    """llama.cpp in this process, as the service runs it (1 thread, passive OpenMP)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from llama_cpp import Llama

    from rejoinder.providers.local import default_model_path

    llm = Llama(
        model_path=str(default_model_path()), n_threads=1, n_threads_batch=1, n_ctx=4096, verbose=False
    )
    out = []
    for i in range(runs):
        start, first, tokens = time.perf_counter(), 0.0, 0
        messages = [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]
        for chunk in llm.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]
            max_tokens=max_tokens,
            temperature=0.7,
            top_p=0.9,
            stream=True,
        ):
            if chunk["choices"][0]["delta"].get("content"):  # type: ignore[index, union-attr]
                tokens += 1
                first = first or time.perf_counter() - start
        out.append(Run(first * 1000, tokens, _rate(first, time.perf_counter() - start, tokens)))
    return out


def service_runs(base_url: str, runs: int, max_tokens: int) -> list[Run]:
    """The same generations through Envoy and the service (REST, streamed)."""
    out = []
    with httpx.Client(timeout=120) as client:
        for i in range(runs):
            body = {
                "model": "local/smollm2-135m",
                "input": PROMPTS[i % len(PROMPTS)],
                "max_output_tokens": max_tokens,
                "temperature": 0.7,
                "top_p": 0.9,
                "stream": True,
            }
            start, first, tokens = time.perf_counter(), 0.0, 0
            with client.stream("POST", f"{base_url}/responses", json=body) as reply:
                for line in reply.iter_lines():
                    if line.startswith("data: ") and '"response.output_text.delta"' in line:
                        tokens += 1
                        first = first or time.perf_counter() - start
            out.append(Run(first * 1000, tokens, _rate(first, time.perf_counter() - start, tokens)))
    return out


def _summary(runs: list[Run]) -> dict[str, float]:
    return {
        "ttft_ms_p50": statistics.median(r.ttft_ms for r in runs),
        "tokens_per_s_p50": statistics.median(r.tokens_per_s for r in runs),
        "tokens_mean": statistics.mean(r.tokens for r in runs),
    }


def main() -> None:
    """Measure both, print a table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    from tests.e2e.service_process import ServiceProcess

    with tempfile.TemporaryDirectory(prefix="rejoinder-bench-local-") as tmp:
        service = ServiceProcess(data_dir=Path(tmp), extra_args=["--local-threads", "1"]).start()
        try:
            service_runs(service.base_url, 1, 8)  # warm-up
            through = service_runs(service.base_url, args.runs, args.tokens)
        finally:
            service.stop()
    direct = direct_runs(args.runs, args.tokens)
    d, s = _summary(direct), _summary(through)
    print(f"{'local model':20} {'direct llama.cpp':>18} {'through service':>16} {'ratio':>7}")
    for key, label in (("ttft_ms_p50", "first token p50 ms"), ("tokens_per_s_p50", "tokens/s p50")):
        print(f"{label:20} {d[key]:18.1f} {s[key]:16.1f} {s[key] / d[key]:7.2f}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-local.json"
    record = {
        "direct": [asdict(r) for r in direct],
        "service": [asdict(r) for r in through],
        "summary": {"direct": d, "service": s},
    }
    path.write_text(json.dumps(record, indent=2))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
