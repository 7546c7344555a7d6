"""The llama.cpp side of the `local` provider: one loaded GGUF behind a narrow typed wrapper.

`LlamaModel` renders a chat with the GGUF's own template, tokenizes it, checks a grammar and yields
sampled tokens; `gbnf_for` turns a JSON schema into the llama.cpp grammar that constrains them. Neither
knows about requests, slots or threads: `local.LocalProvider` drives them from its one worker thread.

This is the only module that imports `llama_cpp`, and only inside the functions that need it, never at
import time: the import is slow and the package optional. `LlamaModel()` and `gbnf_for`, the two ways in,
set `OMP_WAIT_POLICY=PASSIVE` (unless set) first, since OpenMP reads it once, when llama.cpp's library loads.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rejoinder.providers.base import UpstreamError
from rejoinder.providers.local_grammar import TemplateMessage

if TYPE_CHECKING:
    from llama_cpp.llama_types import ChatCompletionRequestMessage


@dataclass(frozen=True)
class Sampling:
    """The sampler settings of one generation."""

    temperature: float
    top_p: float
    presence_penalty: float
    frequency_penalty: float
    repeat_penalty: float
    seed: int


def _before_llama_cpp_loads() -> None:
    """OpenMP reads OMP_WAIT_POLICY once, when llama.cpp's library loads: set it before any import."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def gbnf_for(schema: object) -> str:
    """The llama.cpp grammar (GBNF) of a JSON schema. Raises `UpstreamError` (400) if unsupported."""
    _before_llama_cpp_loads()
    try:
        from llama_cpp import llama_grammar
    except ImportError as exc:
        raise UpstreamError("connect", f"the local model runtime is missing: {exc}") from exc
    try:
        return str(llama_grammar.json_schema_to_gbnf(json.dumps(schema)))
    except Exception as exc:  # the converter signals unsupported schemas with asserts and KeyErrors
        raise UpstreamError(
            "status", f"the local model cannot follow this JSON schema: {exc}", status=400
        ) from exc


class LlamaModel:
    """One loaded GGUF: chat template, tokenizer and a token generator. Not thread-safe: one user."""

    def __init__(self, path: Path, n_threads: int, n_ctx: int) -> None:
        _before_llama_cpp_loads()
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._llama = llama_cpp.Llama(
            model_path=str(path), n_threads=n_threads, n_threads_batch=n_threads, n_ctx=n_ctx, verbose=False
        )
        self._vocab = llama_cpp.llama_model_get_vocab(self._llama.model)
        template = self._llama.metadata.get("tokenizer.chat_template")
        if not isinstance(template, str):
            raise UpstreamError("protocol", f"{path.name} carries no chat template")
        self._format = Jinja2ChatFormatter(
            template=template,
            eos_token=self._special(self._llama.token_eos()),
            bos_token=self._special(self._llama.token_bos()),
        )
        self.n_ctx: int = self._llama.n_ctx()

    def _special(self, token: int) -> str:
        if token < 0:
            return ""
        return bytes(self._llama.detokenize([token], special=True)).decode("utf-8", "replace")

    def prompt(self, messages: list[TemplateMessage]) -> list[int]:
        """The tokens of `messages` rendered with the GGUF's own chat template."""
        rendered = self._format(messages=[_chat_message(m) for m in messages])
        tokens = self._llama.tokenize(rendered.prompt.encode("utf-8"), add_bos=False, special=True)
        return [int(t) for t in tokens]

    def check_grammar(self, gbnf: str) -> None:
        """Parse `gbnf` with llama.cpp once, so a bad grammar is a 400 and never a NULL sampler."""
        import llama_cpp

        sampler = llama_cpp.llama_sampler_init_grammar(self._vocab, gbnf.encode(), b"root")
        if not sampler:
            raise UpstreamError("status", "the local model cannot follow this JSON schema", status=400)
        llama_cpp.llama_sampler_free(sampler)

    def tokens(self, prompt: list[int], sampling: Sampling, gbnf: str | None) -> Iterator[int]:
        """Sampled tokens after `prompt`, ending before the first end-of-generation token."""
        import llama_cpp
        from llama_cpp.llama_grammar import LlamaGrammar

        grammar = LlamaGrammar.from_string(gbnf, verbose=False) if gbnf else None
        self._llama.set_seed(sampling.seed)
        generator = self._llama.generate(
            prompt,
            temp=sampling.temperature,
            top_p=sampling.top_p,
            repeat_penalty=sampling.repeat_penalty,
            presence_penalty=sampling.presence_penalty,
            frequency_penalty=sampling.frequency_penalty,
            grammar=grammar,
        )
        with contextlib.closing(generator):
            for token in generator:
                if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                    return
                yield int(token)

    def piece(self, token: int) -> bytes:
        """The bytes of one generated token."""
        return bytes(self._llama.detokenize([token]))

    def close(self) -> None:
        """Free the model and its context."""
        self._llama.close()


def _chat_message(message: TemplateMessage) -> ChatCompletionRequestMessage:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}
