"""A create request's `prompt` resolved: the template's text (the version asked for, else the default)
with its variables substituted, as the developer message that leads the context, and the reference the
response echoes (with the version used).

Where the message stands: first of all, before `instructions` and every item (core/run/chat_mapping.py).
Like `instructions`, it is not an item: not stored with the response's input, not inherited along
`previous_response_id`, and never left out by truncation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rejoinder.core.prompts.variables import parse_variables, substitute
from rejoinder.errors import clip, invalid
from rejoinder.responses.v1.content_pb2 import ContentList, MessageContent
from rejoinder.responses.v1.items_pb2 import InputItem, Message
from rejoinder.responses.v1.response_pb2 import Prompt
from rejoinder.store.prompts.base import PromptVersion

ROLE = "developer"


@dataclass(frozen=True)
class ResolvedPrompt:
    """The messages a prompt puts first in the context, and the `prompt` the response echoes."""

    items: tuple[InputItem, ...]
    echo: Prompt


class Templates(Protocol):
    """Where a prompt's template is looked up (`PromptsCore`)."""

    async def find(self, prompt_id: str, version: int | None, *, tenant: str = "") -> PromptVersion | None:
        """That version of the tenant's template (its default when None), or None."""
        ...


def _version(prompt: Prompt) -> int | None:
    if not prompt.HasField("version"):
        return None
    text = prompt.version
    if not (text.isascii() and text.isdecimal()) or int(text) < 1:
        raise invalid(
            f"Invalid 'prompt.version': expected a version number such as \"1\", but got '{clip(text)}'.",
            param="prompt.version",
            code="invalid_value",
        )
    return int(text)


async def _template(templates: Templates, prompt: Prompt, tenant: str) -> PromptVersion:
    if not prompt.id:
        raise invalid(
            "Missing required parameter: 'prompt.id'.", param="prompt.id", code="missing_required_parameter"
        )
    version = _version(prompt)
    found = await templates.find(prompt.id, version, tenant=tenant)
    if found is not None:
        return found
    if version is not None and await templates.find(prompt.id, None, tenant=tenant) is not None:
        raise invalid(
            f"Prompt '{clip(prompt.id)}' has no version {version}.",
            param="prompt.version",
            code="prompt_version_not_found",
        )
    raise invalid(
        f"Prompt with id '{clip(prompt.id)}' not found.", param="prompt.id", code="prompt_not_found"
    )


def _check_names(template: PromptVersion, given: set[str]) -> None:
    unknown = sorted(given - set(template.variables))
    if unknown:
        raise invalid(
            f"Unknown prompt variable '{clip(unknown[0])}': prompt '{clip(template.prompt_id)}' version "
            f"{template.version} declares {_listed(template.variables)}.",
            param=f"prompt.variables.{unknown[0]}",
            code="unknown_prompt_variable",
        )
    missing = [name for name in template.variables if name not in given]
    if missing:
        raise invalid(
            f"Missing prompt variable '{clip(missing[0])}': prompt '{clip(template.prompt_id)}' version "
            f"{template.version} needs a value for each of {_listed(template.variables)}.",
            param=f"prompt.variables.{missing[0]}",
            code="missing_prompt_variable",
        )


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(f"'{clip(n)}'" for n in names) if names else "no variables"


async def resolve_prompt(templates: Templates, prompt: Prompt, *, tenant: str = "") -> ResolvedPrompt:
    """The tenant's template that `prompt` names, with its variables. Raises 400 naming `prompt.id`,
    `prompt.version` or `prompt.variables.<name>` (every declared variable needs a value; no other
    may be given)."""
    template = await _template(templates, prompt, tenant)
    values = parse_variables(prompt.variables)
    _check_names(template, set(values))
    parts = substitute(template.prompt, values)
    echo = Prompt()
    echo.CopyFrom(prompt)
    echo.version = str(template.version)
    if not parts:
        return ResolvedPrompt((), echo)
    message = Message(role=ROLE, content=MessageContent(parts=ContentList(items=parts)))
    return ResolvedPrompt((InputItem(message=message),), echo)
