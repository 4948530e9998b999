"""LLMGenerator: image records -> prompts -> backend text -> parsed, grounded, verified candidates.

The same code runs for every backend; a backend only turns prompts into text. Records are
processed in chunks: all prompts of a chunk go to the backend together, so an HTTP backend keeps
`concurrency` requests in flight and vLLM sees a whole batch. Nothing is dropped silently: an
unparseable reply, a backend failure, an ungrounded answer or a verifier "no" each becomes a
Candidate with `reject_reason` set (the raw reply, cut short, in `source_text`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from radvqa_data.core.answers import CLOSED, OPEN
from radvqa_data.core.pipeline_records import Candidate, ImageRecord
from radvqa_data.llm import grounding
from radvqa_data.llm.backends.base import Backend, Completion
from radvqa_data.llm.parse import ParsedItem, parse_response
from radvqa_data.llm.prompting import (
    DEFAULT_TEMPLATES,
    DEFAULT_VERIFY_TEMPLATE,
    qa_prompt,
    template_digest,
    template_version,
    verify_prompt,
)
from radvqa_data.llm.verdict import parse_verdict
from radvqa_data.synth.types import Generator

#: Texts shown to the model and used for grounding: what describes the image. History, exam and
#: discussion are left out: they invite non-visual questions and make prompts 5x longer.
DEFAULT_TEXT_FIELDS = ("caption", "findings")
RAW_KEEP = 500  # characters of a bad reply kept on its reject row, enough to see what went wrong

_QTYPE_HINTS = (
    (
        "MODALITY",
        r"\b(modality|imaging technique|kind of (scan|image)|type of (scan|image|study)|"
        r"ct|mri|x-ray|ultrasound)\b",
    ),
    ("PLANE", r"\b(plane|axial|coronal|sagittal|view|projection)\b"),
    ("COUNT", r"\bhow many\b"),
    ("SIZE", r"\b(size|large|enlarged|small|diameter|measure)\b"),
    ("COLOR", r"\b(colou?r|density|dense|intensity|signal|echogenic|bright|dark)\b"),
    ("POS", r"\b(where|which side|located|location|lobe|left or right|side)\b"),
    ("ORGAN", r"\b(organ|organ system|body part|region)\b"),
    ("ABN", r"\b(abnormal|abnormality|diagnosis|lesion|finding)\b"),
    ("PRES", r"^(is|are) there\b"),
)


def guess_question_type(question: str) -> str:
    """A VQA-RAD question type from the wording, when the model gave none ("OTHER" if unsure)."""
    low = question.lower()
    return next((qtype for qtype, pattern in _QTYPE_HINTS if re.search(pattern, low)), "OTHER")


@dataclass
class _Source:
    record: ImageRecord
    template_id: str
    prompt_version: str
    kind: str  # open | closed


class LLMGenerator(Generator):
    """A `Generator` (radvqa_data.synth.types) backed by an LLM `Backend`."""

    reports_progress = True  # per finished request, through `on_progress`

    def __init__(
        self,
        backend: Backend,
        *,
        templates: dict[str, str] | None = None,  # kind -> template file; default open + closed v1
        n_pairs: int = 4,  # pairs asked per prompt
        verify_backend: Backend | None = None,  # second pass judge; None = no verification
        verify_template: str = DEFAULT_VERIFY_TEMPLATE,
        # chunk_records: records per backend call; bigger keeps a server busier (tail idles once
        # per call)
        chunk_records: int = 32,
        text_fields: tuple[
            str, ...
        ] = DEFAULT_TEXT_FIELDS,  # texts shown to the model and grounded on
    ) -> None:
        self.backend = backend
        self.name = backend.name
        # actors keep the HTTP client or the model; an in-process vLLM engine wants a GPU each
        self.ray_placement = "gpu" if backend.name == "vllm" else "actor"
        self.templates = templates or dict(DEFAULT_TEMPLATES)
        self.n_pairs = n_pairs
        self.verify_backend = verify_backend
        self.verify_template = verify_template
        self.chunk_records = max(1, chunk_records)
        self.text_fields = tuple(text_fields)  # the synth driver loads only these texts
        self.counts: Counter[str] = Counter()  # parsed / rejected-by-reason, for the run summary
        # Set by the synth driver: called with the number of images finished (fractions too), as
        # requests complete, so a progress bar moves within a chunk of hundreds of records.
        self.on_progress: Callable[[float], None] | None = None

    def generate(self, records: Iterable[ImageRecord]) -> Iterator[Candidate]:
        """Yield candidates (kept and rejected) for `records`, chunk by chunk."""
        chunk: list[ImageRecord] = []
        for record in records:
            chunk.append(record)
            if len(chunk) >= self.chunk_records:
                yield from self._chunk(chunk)
                chunk = []
        if chunk:
            yield from self._chunk(chunk)

    def _chunk(self, records: Sequence[ImageRecord]) -> list[Candidate]:
        sources, prompts, out = [], [], []
        for record in map(self.view, records):
            if not any(t.strip() for t in record.texts.values()):
                first = next(iter(self.templates.values()))
                src = _Source(record, first, template_version(first), OPEN)
                out.append(self._reject(src, "no_source_text"))
                continue
            for kind, template_id in self.templates.items():
                prompt = qa_prompt(record, template_id, self.n_pairs)
                sources.append(_Source(record, template_id, prompt.prompt_version, kind))
                prompts.append(prompt)
        # Progress: the QA requests are an image's work, or half of it when a verify pass follows.
        share = 0.5 if self.verify_backend is not None else 1.0
        done, completions = self._complete_reporting(
            self.backend, prompts, [share / len(self.templates)] * len(prompts)
        )
        kept: list[tuple[Candidate, ParsedItem]] = []
        for src, completion in zip(sources, completions, strict=True):
            out.extend(self._candidates(src, completion, kept))
        if self.verify_backend is not None and kept:
            done += self.verify([c for c, _ in kept], progress_share=1.0 - share)
        out.extend(c for c, _ in kept)
        for c in out:
            self.counts[c.reject_reason or "kept"] += 1
        self._report(len(records) - done)  # records without text or without pairs, rounding
        return out

    def _report(self, images: float) -> None:
        if self.on_progress is not None and images > 1e-9:
            self.on_progress(images)

    def _complete_reporting(
        self, backend: Backend, prompts: list, weights: list[float]
    ) -> tuple[float, list[Completion]]:
        """(images reported, completions): complete `prompts`, reporting `weights[i]` images
        when prompt i finishes (backends with an `on_done` hook call it per finished prompt)."""
        if not prompts:
            return 0.0, []
        done = [0.0]

        def on_done(i: int) -> None:
            done[0] += weights[i]
            self._report(weights[i])

        hook = self.on_progress is not None and hasattr(backend, "on_done")
        if hook:
            backend.on_done = on_done
        try:
            completions = backend.complete(prompts)
        finally:
            if hook:
                backend.on_done = None
        return done[0], completions

    def view(self, record: ImageRecord) -> ImageRecord:
        """`record` with only the texts (and their entities) this generator reads."""
        fields = set(self.text_fields)
        if set(record.texts) <= fields and all(e.field in fields for e in record.entities):
            return record
        return dataclasses.replace(
            record,
            texts={k: v for k, v in record.texts.items() if k in fields},
            entities=[e for e in record.entities if e.field in fields],
        )

    def candidates_from_reply(
        self, record: ImageRecord, template_id: str, text: str | None
    ) -> list[Candidate]:
        """Parse and ground one raw reply to `template_id`'s prompt for `record` (no backend call,
        no verify).

        Useful to re-check saved replies; the generation loop uses the same code.
        """
        kind = next((k for k, t in self.templates.items() if t == template_id), OPEN)
        src = _Source(self.view(record), template_id, template_version(template_id), kind)
        kept: list[tuple[Candidate, ParsedItem]] = []
        rejects = self._candidates(src, Completion(text), kept)
        return rejects + [c for c, _ in kept]

    def _candidates(self, src: _Source, completion: Completion, kept: list) -> list[Candidate]:
        if completion.error is not None:
            return [self._reject(src, "backend_error", raw=completion.error)]
        parsed = parse_response(completion.text)
        if parsed.reject_reason:
            return [self._reject(src, parsed.reject_reason, raw=completion.text)]
        # Entries without a question or an answer: one reject each, so the counts add up.
        rejects = [self._reject(src, "incomplete_pair") for _ in range(parsed.skipped)]
        for item in parsed.items:
            # A yes/no answer is closed whatever the model labelled it (VQA-RAD's definition).
            yes_no = item.answer.lower() in ("yes", "no")
            answer_type = CLOSED if yes_no else (item.answer_type or src.kind)
            g = grounding.ground(item.question, item.answer, item.evidence, src.record)
            qtype = item.question_type or guess_question_type(item.question)
            cand = self._candidate(src, item.question, g.answer, answer_type, qtype)
            cand.source_field, cand.source_text = g.source_field, g.source_text
            cand.span_start, cand.span_end = g.span_start, g.span_end
            kept.append((cand, item))  # the shared filter chain judges grounding and length
        return rejects

    def verify(self, cands: list[Candidate], *, progress_share: float = 0.0) -> float:
        """Second pass: the verifier (default: this backend) judges each unrejected candidate.

        Sets `reject_reason` to `verifier_disagrees`, `verifier_unparseable` or `verifier_error`.
        Reports `progress_share` of an image per record as its pairs are judged; returns the
        images reported.
        """
        verifier = self.verify_backend or self.backend
        todo = [c for c in cands if c.reject_reason is None]
        prompts = [
            verify_prompt(c.record, c.question, c.answer, self.verify_template) for c in todo
        ]
        per_record = Counter((c.record.source, c.record.image_id) for c in todo)
        weights = [progress_share / per_record[(c.record.source, c.record.image_id)] for c in todo]
        done, replies = self._complete_reporting(verifier, prompts, weights)
        for cand, completion in zip(todo, replies, strict=True):
            verdict = None if completion.error else parse_verdict(completion.text)
            if completion.error:
                cand.reject_reason = "verifier_error"
            elif verdict is None:
                cand.reject_reason = "verifier_unparseable"
            elif not verdict:
                cand.reject_reason = "verifier_disagrees"
        return done

    def _candidate(
        self, src: _Source, question: str, answer: str, answer_type: str, question_type: str
    ) -> Candidate:
        b = self.backend
        return Candidate(
            record=src.record,
            question=question,
            answer=answer,
            answer_type=answer_type,
            question_type=question_type,
            generator=b.name,
            template_id=src.template_id,
            prompt_version=src.prompt_version,
            model=b.model,
            sampling=b.sampling.to_json(),
            seed=b.sampling.seed,
        )

    def _reject(self, src: _Source, reason: str, raw: str | None = None) -> Candidate:
        cand = self._candidate(src, "", "", src.kind, "OTHER")
        cand.reject_reason = reason
        if raw:
            cand.source_field, cand.source_text = "response", raw[:RAW_KEEP]
        return cand

    @property
    def settings(self) -> dict[str, object]:
        """What shapes this generator's rows beyond the model: for the run's manifest and
        fingerprint."""
        return {
            "backend": self.backend.name,
            "model": self.backend.model,
            "sampling": json.loads(self.backend.sampling.to_json()),
            "templates": dict(self.templates),
            "prompt_versions": {k: template_version(t) for k, t in self.templates.items()},
            "verify_template": self.verify_template if self.verify_backend is not None else None,
            # the template text itself: an edited file (or shared partial) is a different run
            "prompt_digest": template_digest(
                [*self.templates.values()]
                + ([self.verify_template] if self.verify_backend is not None else [])
            ),
            "n_pairs": self.n_pairs,
            "text_fields": list(self.text_fields),
        }

    def summary(self) -> dict[str, object]:
        """Counts by outcome plus backend counters (requests, retries, tokens, seconds)."""
        stats = self.backend.stats
        return {"candidates": dict(self.counts), "backend": json.loads(json.dumps(stats.__dict__))}
