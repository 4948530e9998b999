"""CLI commands `entities`, `synth` and `export` (registered on the `radvqa-data` app).

Only typer and the standard library are imported here; the work (and spaCy, duckdb, datasets)
is imported inside each command so that `radvqa-data --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path

import typer

from radvqa_data.core.cli import executor_option, ray_address_option, user_errors
from radvqa_data.core.paths import DEFAULT_CATALOG

CATALOG_OPT = typer.Option(DEFAULT_CATALOG, "--catalog", help="Catalog file (DuckDB).")


def _split_sources(values: list[str] | None) -> list[str]:
    return [s.strip() for v in values or [] for s in v.split(",") if s.strip()]


def register(app: typer.Typer) -> None:
    """Add `entities`, `synth` and `export` to `app`."""

    @app.command("entities")
    def entities_cmd(
        catalog: Path = CATALOG_OPT,
        model: str = typer.Option(None, "--model", help="Installed spaCy/scispaCy model (e.g. en_core_sci_sm); default: blank + lexicon."),
        processes: int = typer.Option(2, "--processes", "-j", help="Worker processes (more: faster, more memory)."),
        batch_size: int = typer.Option(256, "--batch-size", help="Texts per nlp.pipe batch."),
        sources: list[str] = typer.Option(None, "--sources", help="Only these catalog sources (comma-separated or repeated)."),
        fields: list[str] = typer.Option(None, "--fields", help="Only these text fields, e.g. caption (default: all)."),
        progress: bool = typer.Option(True, "--progress/--no-progress"),
        executor: str = executor_option(),
        ray_address: str = ray_address_option(),
    ) -> None:
        """Find entities (lexicon + negation/uncertainty) in every catalogued text not yet processed."""
        with user_errors():
            from radvqa_data.core.db import connect
            from radvqa_data.entities.run import run_entities
            from radvqa_data.synth.report import print_entity_summary

            connect(catalog, read_only=True).close()  # a clear error when the catalog is absent
            summary = run_entities(catalog, model=model, n_process=processes, batch_size=batch_size,
                                   sources=_split_sources(sources) or None,
                                   fields=_split_sources(fields) or None, progress=progress,
                                   executor=executor, ray_address=ray_address)
            print_entity_summary(summary)

    @app.command("synth")
    def synth_cmd(
        out: Path = typer.Option(..., "--out", help="Output folder: qa/, rejects/, manifest.json."),
        catalog: Path = CATALOG_OPT,
        backend: str = typer.Option("rules", "--backend", help="rules | openai | transformers | vllm"),
        sources: list[str] = typer.Option(None, "--sources", help="Catalog sources (default: all but benchmarks)."),
        limit: int = typer.Option(None, "--limit", help="Only the first N images (sorted by id)."),
        seed: int = typer.Option(0, "--seed"),
        allow_missing_images: bool = typer.Option(False, "--allow-missing-images", help="Also images whose file is missing (text-only metadata rows)."),
        shard_size: int = typer.Option(256, "--shard-size", help="Images per shard (resume granularity)."),
        max_answer_words: int = typer.Option(5, "--max-answer-words"),
        overwrite: bool = typer.Option(False, "--overwrite", help="Wipe shards of a different earlier run in --out."),
        progress: bool = typer.Option(True, "--progress/--no-progress"),
        base_url: str = typer.Option(None, "--base-url", help="LLM backends: OpenAI-compatible server URL."),
        model: str = typer.Option(None, "--model", help="LLM backends: model id or path."),
        api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env", help="Env variable holding the API key."),
        concurrency: int = typer.Option(8, "--concurrency"),
        timeout: float = typer.Option(60.0, "--timeout", help="Seconds per LLM request."),
        temperature: float = typer.Option(0.7, "--temperature"),
        top_p: float = typer.Option(0.95, "--top-p"),
        max_new_tokens: int = typer.Option(256, "--max-new-tokens"),
        verify: bool = typer.Option(False, "--verify/--no-verify", help="LLM backends: second pass in which the model judges every generated pair against the source (yes/no verdict); a 'no' rejects the pair."),
        executor: str = executor_option(),
        ray_address: str = ray_address_option(),
    ) -> None:
        """Synthesize typed, grounded QA pairs into Parquet shards (resumable)."""
        with user_errors():
            from radvqa_data.synth.config import SynthConfig
            from radvqa_data.synth.driver import run_synth
            from radvqa_data.synth.report import print_synth_summary

            settings: dict = {}
            if backend == "rules":
                from radvqa_data.synth.rules import RulesGenerator

                generator = RulesGenerator(seed)
            else:
                # On Ray each vLLM replica starts its engine on its own GPU: none starts here.
                options = {"lazy": True} if backend == "vllm" and executor == "ray" else None
                generator = _llm_generator(
                    backend, base_url=base_url, model=model, api_key_env=api_key_env, concurrency=concurrency,
                    timeout=timeout, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                    seed=seed, verify=verify, backend_options=options,
                )
                settings = {"model": model, "base_url": base_url, "temperature": temperature, "top_p": top_p,
                            "max_new_tokens": max_new_tokens, "verify": verify}
            config = SynthConfig(backend=backend, sources=_split_sources(sources), limit=limit, seed=seed,
                                 allow_missing_images=allow_missing_images, shard_size=shard_size,
                                 max_answer_words=max_answer_words, generator_settings=settings)
            summary = run_synth(catalog, out, config, generator, overwrite=overwrite,
                                progress=progress, executor=executor, ray_address=ray_address)
            print_synth_summary(summary)

    @app.command("export")
    def export_cmd(
        shards: Path = typer.Argument(
            ..., help="A synth output folder (manifest.json), or an `audit --fix` folder."),
        fmt: str = typer.Option(
            "hf", "--format",
            help="llava | sharegpt (LLaMA-Factory) | messages (TRL) | hf (datasets, QA columns)."),
        out: Path = typer.Option(
            ..., "--out", help="Output folder (new, empty, or an earlier export)."),
        catalog: Path = typer.Option(
            None, "--catalog", help="Catalog for image paths (default: the one in the manifest)."),
        audit: Path = typer.Option(
            None, "--audit", help="The audit's --report and/or --fix folder, for the card."),
        manifest: Path = typer.Option(
            None, "--manifest",
            help="Synth manifest.json (default: DIR's, or that of the --fix output's input)."),
        images: str = typer.Option(
            "copy", "--images", help="llava/sharegpt: copy | hardlink | symlink into OUT/images/."),
        name: str = typer.Option(
            None, "--name", help="Name in the card and LLaMA-Factory entries (default: OUT's)."),
        progress: bool = typer.Option(True, "--progress/--no-progress"),
    ) -> None:
        """Export shards for a training stack (LLaVA, LLaMA-Factory, TRL, datasets), with a card."""
        with user_errors():
            from radvqa_data.export import export

            r = export(shards, out, fmt, catalog=catalog, manifest=manifest, audit=audit,
                       images=images, name=name, progress=progress)
            skipped = ", ".join(f"{k}={n}" for k, n in r["skipped"].items() if n)
            parts = [f"exported {r['rows']} rows ({fmt}) to {out}: "
                     + ", ".join(f"{k}={v}" for k, v in r["splits"].items())]
            if skipped:
                parts.append(f"skipped (no usable image): {skipped}")
            if r["rows_without_image"]:
                parts.append(f"{r['rows_without_image']} rows without image")
            if r["quarantined"]:
                parts.append(f"{r['quarantined']} quarantined rows left out")
            typer.echo("; ".join(parts))


def _llm_generator(backend: str, **kwargs):
    """The LLM backend's generator (radvqa_data.llm), imported only when asked for."""
    from radvqa_data.core.errors import ConfigError

    if backend not in ("openai", "transformers", "vllm"):
        raise ConfigError(f"--backend {backend}: unknown backend (expected rules, openai, transformers or vllm)")
    try:
        from radvqa_data.llm.factory import make_generator
    except ImportError as exc:
        raise ConfigError(f"--backend {backend} needs radvqa_data.llm, which is not available here ({exc})") from exc
    return make_generator(backend, **kwargs)
