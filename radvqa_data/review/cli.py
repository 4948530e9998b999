"""`radvqa-data review`: the QA rows with their pictures in FiftyOne; verdicts flow back.

    radvqa-data review DIR --catalog CAT --name NAME [--audit A] [--label-issues] [--launch]
    radvqa-data review pull NAME --out DECISIONS.parquet
    radvqa-data review sample DIR --catalog CAT --n 150 --seed S --name NAME
    radvqa-data review score NAME

`review DIR` is short for `review build DIR`. FiftyOne is imported inside the commands only
(`radvqa_data.review.fo`), so `--help` stays instant. See docs/review.md.
"""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperGroup

from radvqa_data.core.cli import CatalogOpt, ProgressOpt, split_list, user_errors
from radvqa_data.core.paths import DEFAULT_CATALOG


class _BuildByDefault(TyperGroup):
    """`review DIR ...` runs `review build DIR ...`: a first word that is no subcommand (nor an
    option) is taken as build's DIR."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["build", *args]
        return super().parse_args(ctx, args)


app = typer.Typer()
review = typer.Typer(
    name="review",
    cls=_BuildByDefault,
    no_args_is_help=True,
    help="Look at the QA rows with their pictures in FiftyOne; pull the verdicts back.",
)
app.add_typer(review)

NameOpt = typer.Option(..., "--name", help="FiftyOne dataset name.")


@review.command("build")
def build_cmd(
    folder: Path = typer.Argument(..., help="Shard folder (`synth` or `audit --fix` output)."),
    catalog: CatalogOpt = DEFAULT_CATALOG,
    name: str = NameOpt,
    audit: Path | None = typer.Option(
        None, "--audit", help="The audit's --report folder: its findings go on rows and images."
    ),
    label_issues: bool = typer.Option(
        False, "--label-issues", help="Flag images from the catalog's label_issues table."
    ),
    launch: bool = typer.Option(False, "--launch", help="Open the FiftyOne app afterwards."),
    port: int = typer.Option(5151, "--port", help="App port with --launch (on 127.0.0.1)."),
    progress: ProgressOpt = True,
) -> None:
    """Build or update (only what changed) a FiftyOne dataset: one sample per image, its QA rows \
as labels."""
    with user_errors():
        from radvqa_data.review.run import build_review

        c = build_review(
            folder, catalog, name, audit=audit, label_issues=label_issues, progress=progress
        )
        typer.echo(
            f"{name}: {c['images']} images, {c['labels']} QA rows (added {c['added']}, "
            f"updated {c['updated']}, unchanged {c['unchanged']}, removed {c['removed']}, "
            f"stale with verdicts {c['stale']}); left out {c['rows_without_image']} rows on "
            f"{c['no_image_file']} images without a file"
        )
        if launch:
            from radvqa_data.review.fo import fiftyone

            fo = fiftyone()
            session = fo.launch_app(fo.load_dataset(name), address="127.0.0.1", port=port)
            typer.echo(f"app: http://127.0.0.1:{port} (Ctrl-C to stop)")
            session.wait()
        else:
            typer.echo(f"open it: fiftyone app launch {name}")


@review.command("pull")
def pull_cmd(
    name: str = typer.Argument(..., help="FiftyOne dataset name."),
    out: Path = typer.Option(..., "--out", help="Decisions file to write (Parquet)."),
    reject_tags: list[str] | None = typer.Option(
        None, "--reject-tag", help="Tags that reject a row or image (default: reject)."
    ),
    answer_field: str = typer.Option(
        "corrected_answer", "--answer-field", help="Label attribute holding a corrected answer."
    ),
) -> None:
    """Write the verdicts (rejected rows and images, corrected answers) keyed by row id."""
    with user_errors():
        from radvqa_data.review.verdicts import pull

        tags = tuple(split_list(reject_tags)) or ("reject",)
        c = pull(name, out, reject_tags=tags, answer_field=answer_field)
        detail = ", ".join(f"{k}={n}" for k, n in sorted(c.items()) if k != "decisions")
        typer.echo(f"{c['decisions']} decisions -> {out}" + (f" ({detail})" if detail else ""))


@review.command("sample")
def sample_cmd(
    folder: Path = typer.Argument(..., help="Shard folder to draw QA rows from."),
    catalog: CatalogOpt = DEFAULT_CATALOG,
    name: str = NameOpt,
    n: int = typer.Option(150, "--n", min=1, help="Rows to draw."),
    seed: int = typer.Option(..., "--seed", help="Seed of the draw (record it)."),
    exclude: list[str] | None = typer.Option(
        None, "--exclude", help="Datasets of earlier slices: none of their rows is drawn."
    ),
    progress: ProgressOpt = True,
) -> None:
    """Draw a fresh random slice of QA rows into a new dataset, to label with the verdict tags."""
    with user_errors():
        from radvqa_data.review.run import sample_review

        c = sample_review(
            folder, catalog, name, n=n, seed=seed, exclude=split_list(exclude), progress=progress
        )
        typer.echo(
            f"{name}: {c['rows']} rows on {c['images']} images; tag each row in the app with "
            "one of correct, unsupported, wrong, bad_question, then `radvqa-data review score "
            f"{name}`"
        )


@review.command("score")
def score_cmd(
    name: str = typer.Argument(..., help="FiftyOne dataset name (a labelled slice)."),
    out: Path | None = typer.Option(None, "--out", help="Also write the table as JSON."),
) -> None:
    """Precision per question type, with Wilson intervals, from the verdict tags of a slice."""
    with user_errors():
        from radvqa_data.core.atomic import write_json
        from radvqa_data.review.run import score_review
        from radvqa_data.review.score import format_table

        table, unlabelled = score_review(name)
        typer.echo(format_table(table, unlabelled))
        if out is not None:
            write_json(out, {"dataset": name, "unlabelled": unlabelled, "rows": table.to_dicts()})
