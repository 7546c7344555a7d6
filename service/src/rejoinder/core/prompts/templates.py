"""Prompt templates per tenant, with versions (Llama Stack's Prompts API; OpenAI has none).

Both surfaces call `PromptsCore`; every method acts for one tenant and sees only its templates. A
template's text may use only the variables it declares; an update names the version it was made from,
which must be the latest (else 409), and saves the next one.
"""

from __future__ import annotations

from collections.abc import Sequence

from rejoinder.core.clock import Clock
from rejoinder.core.ids import IdGenerator
from rejoinder.core.pages import page_args
from rejoinder.core.prompts.variables import NAME, placeholders
from rejoinder.errors import ApiError, ErrorKind, clip, invalid, not_found, too_many
from rejoinder.responses.v1 import prompts_service_pb2 as pb
from rejoinder.store.prompts.base import PromptStore, PromptVersion, StaleVersion

ID_PREFIX = "pmpt"
MAX_VARIABLES = 64


def missing_prompt(prompt_id: str, param: str = "prompt_id") -> ApiError:
    """The 404 of a template that does not exist (or is another tenant's)."""
    return not_found(f"Prompt with id '{clip(prompt_id)}' not found.", param=param)


def missing_version(prompt_id: str, version: int, param: str = "version") -> ApiError:
    """The 404 of a version the template does not have."""
    return not_found(f"Prompt '{clip(prompt_id)}' has no version {version}.", param=param)


def as_proto(found: PromptVersion) -> pb.PromptTemplate:
    """A stored version as the API shows it."""
    return pb.PromptTemplate(
        prompt_id=found.prompt_id,
        object="prompt",
        version=found.version,
        prompt=found.prompt,
        variables=list(found.variables),
        is_default=found.is_default,
        created_at=found.created_at,
    )


def _checked_variables(names: Sequence[str]) -> tuple[str, ...]:
    if len(names) > MAX_VARIABLES:
        raise too_many(len(names), MAX_VARIABLES, "variables")
    seen: set[str] = set()
    for i, name in enumerate(names):
        if not NAME.fullmatch(name):
            raise invalid(
                f"Invalid variable name '{clip(name)}': use letters, digits and '_' only.",
                param=f"variables[{i}]",
                code="invalid_value",
            )
        if name in seen:
            raise invalid(f"Variable '{clip(name)}' is declared twice.", param=f"variables[{i}]")
        seen.add(name)
    return tuple(names)


def _checked(text: str, names: Sequence[str]) -> tuple[str, ...]:
    """The declared variables, after checking them and that the text uses no others. Raises 400."""
    if not text:
        raise invalid(
            "Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter"
        )
    declared = _checked_variables(names)
    undeclared = sorted(set(placeholders(text)) - set(declared))
    if undeclared:
        listed = ", ".join(f"'{clip(n)}'" for n in undeclared)
        raise invalid(
            f"The prompt uses variables it does not declare: {listed}. Add them to 'variables'.",
            param="prompt",
            code="undeclared_variable",
        )
    return declared


def _version_arg(version: int, param: str = "version") -> int:
    if version < 1:
        raise invalid(
            f"Invalid '{param}': expected a version of 1 or more, but got {version} instead.",
            param=param,
            code="invalid_value",
        )
    return version


class PromptsCore:
    """Prompt templates of every tenant, in one store."""

    def __init__(self, store: PromptStore, ids: IdGenerator, clock: Clock) -> None:
        self._store = store
        self._ids = ids
        self._clock = clock

    async def create(self, req: pb.CreatePromptRequest, *, tenant: str = "") -> pb.PromptTemplate:
        """A new template at version 1, the default. Raises 400."""
        names = _checked(req.prompt, req.variables)
        first = PromptVersion(self._ids.new(ID_PREFIX), 1, req.prompt, names, int(self._clock.now()))
        return as_proto(await self._store.create_prompt(first, tenant=tenant))

    async def find(self, prompt_id: str, version: int | None, *, tenant: str = "") -> PromptVersion | None:
        """That version of the template (its default when None), or None."""
        return await self._store.get_prompt(prompt_id, version, tenant=tenant)

    async def get(self, req: pb.GetPromptRequest, *, tenant: str = "") -> pb.PromptTemplate:
        """One version, the default unless `version` is given. Raises 400 or 404."""
        version = _version_arg(req.version) if req.HasField("version") else None
        found = await self.find(req.prompt_id, version, tenant=tenant)
        if found is not None:
            return as_proto(found)
        if version is not None and await self.find(req.prompt_id, None, tenant=tenant) is not None:
            raise missing_version(req.prompt_id, version)
        raise missing_prompt(req.prompt_id)

    async def list(self, req: pb.ListPromptsRequest, *, tenant: str = "") -> pb.ListPromptsResponse:
        """A page of templates, each at its default version. Raises 400."""
        limit, order = page_args(
            req.limit if req.HasField("limit") else None, req.order if req.HasField("order") else None
        )
        after = req.after if req.HasField("after") else None
        page = await self._store.list_prompts(after=after, limit=limit, order=order, tenant=tenant)
        data = [as_proto(p) for p in page.prompts]
        reply = pb.ListPromptsResponse(object="list", data=data, has_more=page.has_more)
        if data:
            reply.first_id, reply.last_id = data[0].prompt_id, data[-1].prompt_id
        return reply

    async def update(self, req: pb.UpdatePromptRequest, *, tenant: str = "") -> pb.PromptTemplate:
        """The next version, made from `req.version` (the latest). Raises 400, 404 or 409."""
        if req.version == 0:
            raise invalid(
                "Missing required parameter: 'version'.", param="version", code="missing_required_parameter"
            )
        updates = _version_arg(req.version)
        names = _checked(req.prompt, req.variables)
        new = PromptVersion(req.prompt_id, updates + 1, req.prompt, names, int(self._clock.now()))
        make_default = req.set_as_default if req.HasField("set_as_default") else True
        saved = await self._store.add_version(new, updates=updates, make_default=make_default, tenant=tenant)
        if saved is None:
            raise missing_prompt(req.prompt_id)
        if isinstance(saved, StaleVersion):
            raise ApiError(
                ErrorKind.CONFLICT,
                f"Version {saved.given} is not the latest version of prompt '{clip(req.prompt_id)}' "
                f"(version {saved.latest} is): get it and make your change from there.",
                param="version",
                code="stale_prompt_version",
            )
        return as_proto(saved)

    async def delete(self, prompt_id: str, *, tenant: str = "") -> pb.DeletePromptResponse:
        """Delete the template and its versions. Raises 404."""
        if not await self._store.delete_prompt(prompt_id, tenant=tenant):
            raise missing_prompt(prompt_id)
        return pb.DeletePromptResponse(id=prompt_id, object="prompt.deleted", deleted=True)

    async def versions(self, prompt_id: str, *, tenant: str = "") -> pb.ListPromptVersionsResponse:
        """Every version, oldest first. Raises 404."""
        found = await self._store.list_versions(prompt_id, tenant=tenant)
        if found is None:
            raise missing_prompt(prompt_id)
        return pb.ListPromptVersionsResponse(object="list", data=[as_proto(v) for v in found])

    async def set_default(self, req: pb.SetDefaultVersionRequest, *, tenant: str = "") -> pb.PromptTemplate:
        """Make `req.version` the default. Raises 400 or 404."""
        if req.version == 0:
            raise invalid(
                "Missing required parameter: 'version'.", param="version", code="missing_required_parameter"
            )
        version = _version_arg(req.version)
        found = await self._store.set_default_version(req.prompt_id, version, tenant=tenant)
        if found is not None:
            return as_proto(found)
        if await self.find(req.prompt_id, None, tenant=tenant) is not None:
            raise missing_version(req.prompt_id, version)
        raise missing_prompt(req.prompt_id)
