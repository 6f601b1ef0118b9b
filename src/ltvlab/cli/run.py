"""``ltvlab run``: execute the report batch and write ``reports/index.html``."""

from __future__ import annotations

import sys

import click

from ltvlab.paths import project_root


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Batch file (default: reports.yml at the project root).",
)
@click.option("--jobs", type=click.IntRange(min=1), default=None, help="Parallel runs (default: CPU cores).")
@click.option("--only", multiple=True, help="Run only this run name or notebook stem (repeatable).")
@click.option("--force", is_flag=True, help="Rerun even when nothing changed since the last good run.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def run(
    config_path: str | None, jobs: int | None, only: tuple[str, ...], force: bool, no_progress: bool
) -> None:
    """Run the notebook suite with Papermill, render HTML reports and the index page."""
    from ltvlab.reports import load_config, run_batch
    from ltvlab.reports.render import status_word

    config = load_config(config_path or project_root() / "reports.yml")
    result = run_batch(config, jobs=jobs, only=only, force=force, progress=not no_progress)
    colours = {"passed": "green", "failed": "red", "not applicable": None, "not run": "yellow"}
    for outcome in result.outcomes:
        word = status_word(outcome.status, outcome.recorded)
        note = " (cached)" if outcome.cached else ""
        click.secho(f"  {word:<15} {outcome.name}{note}", fg=colours.get(word))
        if outcome.status == "failed" and outcome.error:
            click.secho("    " + outcome.error.strip().splitlines()[0], fg="red")
    untrusted = [
        o for o in result.outcomes if o.status == "ok" and status_word(o.status, o.recorded) == "failed"
    ]
    click.echo(
        f"{len(result.executed)} executed, {len(result.skipped)} skipped (unchanged), {len(result.failed)} failed"
        + (f", {len(untrusted)} with a failed trust check (see their headline)" if untrusted else "")
    )
    click.echo(f"index: {result.index_path}")
    if result.interrupted:
        not_run = sum(o.status == "not_run" for o in result.outcomes)
        click.secho(
            f"interrupted: the index lists what finished and {not_run} run(s) as not run; "
            "run the same command again to complete the batch",
            fg="yellow",
        )
        sys.exit(130)
    if result.failed:
        sys.exit(1)
