"""transformers `generate` in-process, for CPUs and small local models.

The model must be a local directory (this project never downloads weights at run time). Prompts
are batched with left padding; the chat template of the tokenizer formats the messages when it
has one. Sampling is seeded per batch, so a rerun with the same seed gives the same text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from radvqa_data.core.errors import ConfigError
from radvqa_data.llm.backends.base import BackendStats, Completion, Sampling
from radvqa_data.llm.prompting import Prompt


class TransformersBackend:
    """Batched `model.generate` over a local causal LM directory."""

    name = "transformers"
    on_done: Callable[[int], None] | None = None  # called with a prompt's index as it finishes

    def __init__(
        self,
        model: str,
        sampling: Sampling,
        *,
        batch_size: int = 8,  # prompts per generate call; higher: faster on GPU, more memory
        device: str | None = None,  # default: cuda if available, else cpu
        dtype: str = "auto",
    ) -> None:
        path = Path(model).expanduser()
        if not path.is_dir() or not (path / "config.json").is_file():
            raise ConfigError(
                "--backend transformers needs a local model directory with config.json; "
                f"'{model}' is not one"
            )
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model = model
        self.sampling = sampling
        self.batch_size = max(1, batch_size)
        self.stats = BackendStats()
        self._torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.tokenizer.padding_side = (
            "left"  # decoder-only: pad on the left so generation continues the prompt
        )
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.lm = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=dtype).to(
            self.device
        )
        self.lm.eval()

    def _format(self, prompt: Prompt) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(
                prompt.messages, tokenize=False, add_generation_prompt=True
            )
        return f"{prompt.system}\n\n{prompt.user}\n\n"

    def complete(self, prompts: Sequence[Prompt]) -> list[Completion]:
        """Generate for every prompt, `batch_size` at a time; results in prompt order.

        Prompts are batched by length (short with short) so that little of each batch is padding.
        """
        texts = [self._format(p) for p in prompts]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[Completion | None] = [None] * len(texts)
        for i in range(0, len(order), self.batch_size):
            idx = order[i : i + self.batch_size]
            for j, c in zip(idx, self._batch([texts[j] for j in idx]), strict=True):
                out[j] = c
                self.stats.add(c)
                if self.on_done is not None:
                    self.on_done(j)
        return [c for c in out if c is not None]

    def _batch(self, texts: list[str]) -> list[Completion]:
        torch = self._torch
        s = self.sampling
        start = time.perf_counter()
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(
            self.device
        )
        kwargs: dict[str, Any] = {
            "max_new_tokens": s.max_new_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if s.temperature > 0:
            kwargs.update(do_sample=True, temperature=s.temperature, top_p=s.top_p)
        else:
            kwargs.update(do_sample=False)
        torch.manual_seed(s.seed)
        with torch.inference_mode():
            generated = self.lm.generate(**enc, **kwargs)
        new = generated[:, enc["input_ids"].shape[1] :]
        lengths = enc["attention_mask"].sum(dim=1).tolist()
        results = []
        for row, n_prompt in zip(new, lengths, strict=True):
            n_new = int((row != self.tokenizer.pad_token_id).sum())
            text = self.tokenizer.decode(row, skip_special_tokens=True)
            finish = "length" if n_new >= s.max_new_tokens else "stop"
            results.append(Completion(text, None, int(n_prompt), n_new, finish_reason=finish))
        self.stats.seconds += time.perf_counter() - start
        return results

    def close(self) -> None:
        """Drop the model (frees memory before a verify model loads)."""
        self.lm = None
