"""Build the LLM prompts from the versioned templates in `prompts/`.

Templates are data: `prompts/VERSION` names the active set (`prompts/v1/`),
and that version is stored with every result. The environment is sandboxed
with StrictUndefined; whatever a user typed only ever arrives as a variable,
rendered as a JSON string, and is never template source.

The prompt is kept within a token budget (estimated at four characters per
token). When the whole indicator catalog would not fit, only the entries the
request mentions by kind, alias or name (and the ones the user chose) are sent.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from engine.catalog import CATALOG, PRICE_SOURCES, IndicatorDef, get_indicator
from engine.spec import spec_json_schema

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"
CHARS_PER_TOKEN = 4
MAX_REPAIR_ERRORS = 20
MAX_PREVIOUS_CHARS = 6000

# Title words too common to say which indicator a request means.
_GENERIC_WORDS = {
    "average", "simple", "exponential", "weighted", "running", "relative",
    "commodity", "money", "standard", "linear", "highest", "lowest", "volume",
    "rate", "parabolic", "value", "index", "moving",
}  # fmt: skip


@dataclass(frozen=True)
class Prompt:
    """A rendered system + user prompt and the template version behind it."""

    system: str
    user: str
    version: str
    catalog_kinds: tuple[str, ...]

    @property
    def estimated_tokens(self) -> int:
        """Rough size in tokens (four characters per token)."""
        return estimate_tokens(self.system) + estimate_tokens(self.user)


def estimate_tokens(text: str) -> int:
    """A cheap token estimate; good enough for budgeting, not for billing."""
    return -(-len(text) // CHARS_PER_TOKEN)


class PromptBuilder:
    """Renders one template set; cheap to call per job once constructed."""

    def __init__(
        self,
        version: str | None = None,
        *,
        token_budget: int = 6000,
        prompts_dir: Path = PROMPTS_DIR,
    ) -> None:
        self.version = version or (prompts_dir / "VERSION").read_text().strip()
        self.token_budget = token_budget
        folder = prompts_dir / self.version
        self._env = SandboxedEnvironment(
            loader=FileSystemLoader(folder),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            # A template set is fixed once released: no stat per render.
            auto_reload=False,
        )
        self._env.filters["json_value"] = _json_value
        sources = b"".join(p.read_bytes() for p in sorted(folder.glob("*.j2")))
        self.fingerprint = f"{self.version}:{hashlib.sha256(sources).hexdigest()[:16]}"
        self.schema = compact_schema(spec_json_schema())
        self._schema_json = json.dumps(self.schema, separators=(",", ":"))
        # The whole-catalog system prompt is the same for every request.
        self._full_system: str | None = None

    def build(self, request: str, options: Mapping | None = None) -> Prompt:
        """The system and user prompts for one request and its options."""
        options = options or {}
        chosen = _chosen_kinds(options.get("indicators"))
        user = self._env.get_template("user.j2").render(
            request=request,
            symbol=options.get("symbol"),
            timeframe=options.get("timeframe"),
            indicators=chosen,
        )

        return self._with_catalog(request, chosen, user)

    def _with_catalog(self, request: str, chosen: list[str], user: str) -> Prompt:
        entries = list(CATALOG.values())
        system = self._full_system
        if system is None:
            # A race renders it twice, to the same text.
            system = self._full_system = self._system(entries, partial=False)
        if estimate_tokens(system) + estimate_tokens(user) > self.token_budget:
            entries = self._fit_catalog(request, chosen, estimate_tokens(user))
            system = self._system(entries, partial=True)
        kinds = tuple(entry.kind for entry in entries)
        return Prompt(system, user, self.version, kinds)

    def build_refine(
        self,
        instruction: str,
        current_spec: Mapping,
        options: Mapping | None = None,
    ) -> Prompt:
        """The prompts for changing an existing spec as ``instruction`` says."""
        options = options or {}
        current_kinds = [use.get("kind") for use in current_spec.get("indicators", [])]
        chosen = _chosen_kinds(current_kinds)
        user = self._env.get_template("refine.j2").render(
            instruction=instruction,
            current_spec=dict(current_spec),
            symbol=options.get("symbol"),
            timeframe=options.get("timeframe"),
        )
        return self._with_catalog(instruction, chosen, user)

    def repair(self, prompt: Prompt, previous: str | None, errors: list[str]) -> str:
        """The next user message: the request again, the bad answer, its errors."""
        if previous and len(previous) > MAX_PREVIOUS_CHARS:
            previous = previous[:MAX_PREVIOUS_CHARS] + " ...(cut)"
        return self._env.get_template("repair.j2").render(
            original=prompt.user.rstrip(),
            previous=previous,
            errors=errors[:MAX_REPAIR_ERRORS],
        )

    def _system(self, entries: list[IndicatorDef], *, partial: bool) -> str:
        return self._env.get_template("system.j2").render(
            catalog=[_catalog_line(entry) for entry in entries],
            catalog_partial=partial,
            price_sources=PRICE_SOURCES,
            schema_json=self._schema_json,
        )

    def _fit_catalog(
        self, request: str, chosen: list[str], user_tokens: int
    ) -> list[IndicatorDef]:
        wanted = dict.fromkeys(chosen + mentioned_kinds(request))
        entries = [CATALOG[kind] for kind in wanted]
        # Fill what room is left with the rest, in catalog order.
        for entry in CATALOG.values():
            if entry.kind in wanted:
                continue
            trial = self._system([*entries, entry], partial=True)
            if estimate_tokens(trial) + user_tokens > self.token_budget:
                break
            entries.append(entry)
        return entries


def mentioned_kinds(request: str) -> list[str]:
    """Catalog kinds a request names: by kind, alias, title or a telling title word."""
    text = request.casefold()
    found = []
    for entry in CATALOG.values():
        names = {entry.kind, *entry.aliases, entry.title.casefold()}
        first = entry.title.split()[0].casefold()
        if len(first) >= 4 and first not in _GENERIC_WORDS:
            names.add(first)
        if any(_names_word(text, name) for name in names):
            found.append(entry.kind)
    return found


def compact_schema(schema: dict) -> dict:
    """The JSON Schema without pydantic's `title` and `discriminator` keys.

    Titles repeat the property names and cost a third of the schema's tokens;
    `discriminator` is an OpenAPI keyword that some providers' schema checks
    reject, and each `oneOf` branch already fixes its `type` with a `const`.
    Keys of `properties` and `$defs` are names, not annotations, and stay.
    """

    def strip(node, naming: bool = False):
        if isinstance(node, list):
            return [strip(item) for item in node]
        if not isinstance(node, dict):
            return node
        if naming:
            return {key: strip(value) for key, value in node.items()}
        return {
            key: strip(value, naming=key in ("properties", "$defs"))
            for key, value in node.items()
            if not (key == "title" and isinstance(value, str))
            and not (key == "discriminator" and isinstance(value, dict))
        }

    return strip(schema)


@lru_cache(maxsize=4)
def get_prompt_builder(token_budget: int = 6000) -> PromptBuilder:
    """A shared builder for the active template set."""
    return PromptBuilder(token_budget=token_budget)


def _names_word(text: str, name: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", text) is not None


def _chosen_kinds(indicators) -> list[str]:
    if not isinstance(indicators, list | tuple):
        return []
    kinds = []
    for item in indicators:
        entry = get_indicator(str(item).casefold()) if item else None
        if entry is not None and entry.kind not in kinds:
            kinds.append(entry.kind)
    return kinds


def _catalog_line(entry: IndicatorDef) -> dict:
    params = []
    for param in entry.params:
        bounds = ""
        if param.min is not None or param.max is not None:
            low = "" if param.min is None else f"{param.min:g}"
            high = "" if param.max is None else f"{param.max:g}"
            bounds = f"[{low}..{high}]"
        params.append(
            {"name": param.name, "type": param.type, "default": param.default}
            | {"bounds": bounds}
        )
    return {
        "kind": entry.kind,
        "title": entry.title,
        "category": entry.category,
        "params": params,
        "outputs": entry.output_names(),
    }


def _json_value(value) -> str:
    return json.dumps(value, ensure_ascii=False)
