"""The LLM layer as a client library, for code outside `radvqa_data` (the trainer's LLM judge).

`radvqa_train` and `radvqa_diag` reach into `radvqa_data` through the core, the reader and this
module only: a backend for a chat prompt, its sampling settings, and versioned prompt templates.
Everything else under `radvqa_data.llm` is the synthesis step's own and may change with it.
"""

from __future__ import annotations

from radvqa_data.llm.backends.base import Sampling
from radvqa_data.llm.factory import make_backend
from radvqa_data.llm.prompting import Prompt, render, template_digest, template_version

__all__ = ["Prompt", "Sampling", "make_backend", "render", "template_digest", "template_version"]
