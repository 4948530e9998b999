"""The LLM layer as a client library, for code outside `radvqa_data` (the trainer's LLM judge).

`radvqa_train` and `radvqa_diag` reach into `radvqa_data` through the core, the reader and this
module only: an `LLMEndpoint` (backend, model, sampling; `connect` gives the backend), the
defaults, one `parse_verdict`, and versioned prompt templates.
Everything else under `radvqa_data.llm` is the synthesis step's own and may change with it.
"""

from __future__ import annotations

from radvqa_data.llm import defaults
from radvqa_data.llm.backends.base import Sampling
from radvqa_data.llm.endpoint import LLMEndpoint
from radvqa_data.llm.prompting import Prompt, render, template_digest, template_version
from radvqa_data.llm.verdict import parse_verdict

__all__ = [
    "LLMEndpoint",
    "Prompt",
    "Sampling",
    "defaults",
    "parse_verdict",
    "render",
    "template_digest",
    "template_version",
]
