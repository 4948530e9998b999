"""`radvqa-data synth` and `radvqa-data describe`: write QA shards, and describe a shard folder.

Only typer and the standard library are imported here (plus the light defaults of the config
and the LLM layer, shown in `--help`); the work is imported inside each command so that
`radvqa-data --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path

import typer

from radvqa_data.core.cli import (
    AllowEmptyOpt,
    CatalogOpt,
    ExecutorOpt,
    ProgressOpt,
    RayAddressOpt,
    split_list,
    user_errors,
)
from radvqa_data.core.paths import DEFAULT_CATALOG
from radvqa_data.llm import defaults as llm
from radvqa_data.synth.config import SynthConfig

app = typer.Typer()

#: The LLM endpoint's options, shown as one group in `--help` (`radvqa_data.llm.LLMEndpoint`).
LLM_PANEL = "LLM endpoint (--backend openai | transformers | vllm)"


@app.command("synth")
def synth_cmd(
    out: Path = typer.Option(..., "--out", help="Output folder: qa/, rejects/, manifest.json."),
    catalog: CatalogOpt = DEFAULT_CATALOG,
    backend: str = typer.Option(
        SynthConfig.backend, "--backend", help="rules | openai | transformers | vllm"
    ),
    sources: list[str] = typer.Option(
        None, "--sources", help="Catalog sources (default: all but benchmarks)."
    ),
    limit: int = typer.Option(None, "--limit", help="Only the first N images (sorted by id)."),
    seed: int = typer.Option(
        SynthConfig.seed, "--seed", help="Seed of phrasing, yes/no polarity and LLM sampling."
    ),
    allow_missing_images: bool = typer.Option(
        False,
        "--allow-missing-images",
        help="Also images whose file is missing (text-only metadata rows).",
    ),
    shard_size: int = typer.Option(
        SynthConfig.shard_size, "--shard-size", help="Images per shard (resume granularity)."
    ),
    max_answer_words: int = typer.Option(
        SynthConfig.max_answer_words,
        "--max-answer-words",
        help="Longer answers are rejected (answer_too_long).",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Wipe shards of a different earlier run in --out."
    ),
    allow_empty: AllowEmptyOpt = False,
    progress: ProgressOpt = True,
    base_url: str = typer.Option(
        None,
        "--base-url",
        help="LLM backends: OpenAI-compatible server URL.",
        rich_help_panel=LLM_PANEL,
    ),
    model: str = typer.Option(
        None, "--model", help="LLM backends: model id or path.", rich_help_panel=LLM_PANEL
    ),
    api_key_env: str = typer.Option(
        llm.API_KEY_ENV,
        "--api-key-env",
        help="Env variable holding the API key.",
        rich_help_panel=LLM_PANEL,
    ),
    concurrency: int = typer.Option(
        llm.CONCURRENCY, "--concurrency", help="LLM requests in flight.", rich_help_panel=LLM_PANEL
    ),
    timeout: float = typer.Option(
        llm.TIMEOUT_S, "--timeout", help="Seconds per LLM request.", rich_help_panel=LLM_PANEL
    ),
    temperature: float = typer.Option(
        llm.TEMPERATURE,
        "--temperature",
        help="LLM sampling: 0 = greedy; higher = more varied, more junk.",
        rich_help_panel=LLM_PANEL,
    ),
    top_p: float = typer.Option(
        llm.TOP_P,
        "--top-p",
        help="LLM sampling: nucleus probability mass.",
        rich_help_panel=LLM_PANEL,
    ),
    max_new_tokens: int = typer.Option(
        llm.MAX_NEW_TOKENS, "--max-new-tokens", help="Longest LLM reply.", rich_help_panel=LLM_PANEL
    ),
    verify: bool = typer.Option(
        False,
        "--verify/--no-verify",
        help=(
            "LLM backends: second pass in which the model judges every generated pair against "
            "the source (yes/no verdict); a 'no' rejects the pair."
        ),
        rich_help_panel=LLM_PANEL,
    ),
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    balance: str = typer.Option(
        SynthConfig.balance,
        "--balance",
        help="Yes/no balance per type: reject (drop surplus majority rows; counted in the "
        "manifest), weight (keep them with a per-row sample_weight the trainer honours), off.",
    ),
    shared_captions: str = typer.Option(
        "once",
        "--shared-captions",
        help="rules: rows of a caption that sibling images share are written once (once) or on "
        "every sharer (all).",
    ),
    normal_statements: str = typer.Option(
        "on",
        "--normal-statements",
        help="rules: a structure the caption (or the case findings about this study) states "
        "normal gives a PRES 'no' about that structure only ('Is there a mass in the left "
        "kidney?'): on, off.",
    ),
    case_findings: str = typer.Option(
        "off",
        "--case-findings",
        help="rules: a sentence of the case findings about this image's study gives POS, SIZE, "
        "ATTRIB and COUNT rows (and the specific name of a captioned 'mass') where the image's "
        "caption affirms the same finding; once per case: on, off (default: its fresh slice read "
        "26/36, under the 0.95 bar).",
    ),
    label_issues: str = typer.Option(
        "reject",
        "--label-issues",
        help="rules: a metadata fact `radvqa-data label-issues` flagged gives no question "
        "(reject), a question about the suggested value (use-suggested), or is asked as given "
        "(ignore).",
    ),
) -> None:
    """Synthesize typed, grounded QA pairs into Parquet shards (resumable).

    Exits 1 when no row comes out (the reasons are printed), unless --allow-empty."""
    with user_errors():
        from radvqa_data.core.errors import EmptyOutputError
        from radvqa_data.synth.driver import run_synth
        from radvqa_data.synth.registry import build_generator
        from radvqa_data.synth.report import empty_synth_reason, print_synth_summary

        llm_options = {
            "base_url": base_url,
            "model": model,
            "api_key_env": api_key_env,
            "concurrency": concurrency,
            "timeout": timeout,
            "temperature": temperature,
            "top_p": top_p,
            "max_new_tokens": max_new_tokens,
        }
        generator, settings = build_generator(
            backend,
            seed=seed,
            llm=llm_options,
            verify=verify,
            executor=executor,
            rules={
                "label_issues": label_issues,
                "shared_captions": shared_captions,
                "normal_statements": normal_statements,
                "case_findings": case_findings,
            },
        )
        config = SynthConfig(
            backend=backend,
            sources=split_list(sources),
            limit=limit,
            seed=seed,
            allow_missing_images=allow_missing_images,
            shard_size=shard_size,
            max_answer_words=max_answer_words,
            balance=balance,
            generator_settings=settings,
        )
        summary = run_synth(
            catalog,
            out,
            config,
            generator,
            overwrite=overwrite,
            progress=progress,
            executor=executor,
            ray_address=ray_address,
            allow_empty=allow_empty,
        )
        print_synth_summary(summary)
        if not summary.manifest.get("qa_rows") and not allow_empty:
            raise EmptyOutputError(empty_synth_reason(summary.manifest, out))


@app.command("describe")
def describe_cmd(
    shards: Path = typer.Argument(..., help="A synth output folder (manifest.json + qa/)."),
    samples: int = typer.Option(5, "--samples", min=0, help="Random rows shown per question type."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample."),
) -> None:
    """Describe a synth output: counts per type, yes-rate, rejects per reason, sample rows."""
    with user_errors():
        from radvqa_data.synth.report import describe_run

        typer.echo(describe_run(shards, samples=samples, seed=seed))
