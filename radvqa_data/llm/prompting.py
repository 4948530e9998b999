"""Build chat prompts from image records, using the versioned templates in `prompts/`.

A template file `NAME.vN.jinja` has a `system` and a `user` block; its file name is the
`template_id` recorded on every row and `vN` its `prompt_version`. Change a prompt by adding a
new version file, never by editing a released one, so rows stay traceable to their prompt.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from radvqa_data.core.answers import ANSWER_TYPES, CLOSED, OPEN
from radvqa_data.core.errors import ConfigError
from radvqa_data.core.pipeline_records import ImageRecord
from radvqa_data.core.schema import QUESTION_TYPES

#: The QA templates a run uses by default (kind -> file name).
DEFAULT_TEMPLATES = {OPEN: "open_qa.v1.jinja", CLOSED: "closed_qa.v1.jinja"}
DEFAULT_VERIFY_TEMPLATE = "verify.v1.jinja"
#: Source texts are cut to this many characters: long case reports would crowd out the answer.
MAX_TEXT_CHARS = 1500
MAX_ENTITIES = 40

_NAME = re.compile(r"^(?P<name>[a-z_]+)\.(?P<version>v\d+)\.jinja$")

#: JSON schema of a QA reply: sent as `response_format` / guided decoding where supported.
QA_SCHEMA_JSON: dict[str, Any] = {
    "type": "object",
    "properties": {
        "pairs": {
            "type": "array",
            "maxItems": 8,  # bounds a guided reply: random or rambling models cannot run on
            "items": {
                "type": "object",
                "properties": {
                    "question": {"type": "string", "maxLength": 200},
                    "answer": {"type": "string", "maxLength": 60},
                    "answer_type": {"type": "string", "enum": list(ANSWER_TYPES)},
                    "question_type": {"type": "string", "enum": list(QUESTION_TYPES)},
                    "evidence": {"type": "string", "maxLength": 200},
                },
                "required": ["question", "answer", "answer_type", "question_type", "evidence"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["pairs"],
    "additionalProperties": False,
}

VERIFY_SCHEMA_JSON: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["yes", "no"]},
        "reason": {"type": "string"},
    },
    "required": ["verdict"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Prompt:
    """One chat request: what to send, and which template and record it came from."""

    template_id: str  # file name, e.g. "open_qa.v1.jinja"
    prompt_version: str  # "v1"
    system: str
    user: str
    schema: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    schema_name: str = "qa_pairs"

    @property
    def messages(self) -> list[dict[str, str]]:
        """OpenAI-style chat messages."""
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


@functools.lru_cache(maxsize=1)
def _env() -> Any:
    import jinja2

    # Templates are package data: PackageLoader finds them in a wheel or an editable install.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("radvqa_data.llm", "prompts"),
        undefined=jinja2.StrictUndefined,  # a typo in a template fails loudly, not as empty text
        keep_trailing_newline=False,
        autoescape=False,
    )


def template_version(template_id: str) -> str:
    """`open_qa.v1.jinja` -> `v1`; a ConfigError for a name outside the NAME.vN.jinja scheme."""
    m = _NAME.match(template_id)
    if not m:
        raise ConfigError(
            f"prompt template '{template_id}' must be named NAME.vN.jinja (e.g. open_qa.v1.jinja)"
        )
    return m.group("version")


def available_templates() -> list[str]:
    """Every shipped prompt template file name."""
    return sorted(n for n in _env().list_templates() if _NAME.match(n))


def template_digest(template_ids: list[str]) -> str:
    """A short hash of the named templates' text and of the shared partials (`_*.jinja`) they
    include, so that an edited template changes the run fingerprint even without a new version."""
    import hashlib

    import jinja2

    env = _env()
    partials = sorted(n for n in env.list_templates() if n.startswith("_"))
    h = hashlib.sha256()
    for name in [*sorted(set(template_ids)), *partials]:
        try:
            source = env.loader.get_source(env, name)[0]
        except jinja2.TemplateNotFound:
            source = ""  # an unknown template fails with a clear error when it is rendered
        h.update(f"{name}\0{source}\0".encode())
    return h.hexdigest()[:16]


def render(template_id: str, schema: dict[str, Any], schema_name: str, **context: Any) -> Prompt:
    """Render the `system` and `user` blocks of one template with `context`."""
    import jinja2

    version = template_version(template_id)
    try:
        tmpl = _env().get_template(template_id)
    except jinja2.TemplateNotFound:
        raise ConfigError(
            f"unknown prompt template '{template_id}'; shipped: {', '.join(available_templates())}"
        ) from None
    ctx = tmpl.new_context(dict(context))
    system = "".join(tmpl.blocks["system"](ctx)).strip()
    user = "".join(tmpl.blocks["user"](ctx)).strip()
    return Prompt(template_id, version, system, user, schema, schema_name)


def record_context(record: ImageRecord) -> dict[str, Any]:
    """The facts about one image that every prompt shows: texts, metadata, entities."""
    metadata = {
        key: value
        for key, value in (
            ("modality", record.modality_raw or record.modality),
            ("plane", record.plane),
            ("region", record.organ_raw or record.organ),
            ("laterality", record.laterality),
        )
        if value
    }
    # The caption first: it describes this very image; case findings may cover the whole case.
    names = sorted(record.texts, key=lambda n: (n != "caption", n))
    texts = {n: _cut(record.texts[n]) for n in names if record.texts[n] and record.texts[n].strip()}
    seen: set[tuple[str, str]] = set()
    entities = []
    for e in record.entities:
        key = (e.norm or e.text.lower(), e.label)
        if key not in seen:
            seen.add(key)
            entities.append(e)
    return {
        "source": record.source,
        "image_id": record.image_id,
        "metadata": metadata,
        "texts": texts,
        "entities": entities[:MAX_ENTITIES],
        "question_types": [t for t in QUESTION_TYPES if t != "OTHER"],
    }


def qa_prompt(record: ImageRecord, template_id: str, n_pairs: int = 4) -> Prompt:
    """The QA-writing prompt for one record."""
    return render(
        template_id, QA_SCHEMA_JSON, "qa_pairs", n_pairs=n_pairs, **record_context(record)
    )


def verify_prompt(
    record: ImageRecord, question: str, answer: str, template_id: str = DEFAULT_VERIFY_TEMPLATE
) -> Prompt:
    """The yes/no verifier prompt for one QA pair of `record`."""
    return render(
        template_id,
        VERIFY_SCHEMA_JSON,
        "verdict",
        question=question,
        answer=answer,
        **record_context(record),
    )


def _cut(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS].rsplit(" ", 1)[0] + " ..."
