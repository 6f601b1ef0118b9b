"""The ``ltvlab`` command line.

Each command group lives in its own module under ``ltvlab.cli`` and is registered here. User mistakes
(:class:`ltvlab.errors.LtvlabError`, click usage errors) end in a one-line message and exit code 2,
never a Python traceback.
"""

from __future__ import annotations

import sys

import click

from ltvlab import __version__
from ltvlab.errors import LtvlabError


class _FriendlyGroup(click.Group):
    """A click group that turns ltvlab's user errors into a message and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LtvlabError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(2)
        except FileNotFoundError as exc:
            click.secho(f"error: file not found: {exc.filename}", fg="red", err=True)
            sys.exit(2)


@click.group(cls=_FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ltvlab")
def cli() -> None:
    """ltvlab: Bayesian customer lifetime value and causal analysis of interaction strategies."""


def _register() -> None:
    from ltvlab.cli import summary

    cli.add_command(summary.summary)

    from ltvlab.cli import data as data_cmd

    cli.add_command(data_cmd.validate)
    cli.add_command(data_cmd.ingest)

    from ltvlab.cli import init as init_cmd

    cli.add_command(init_cmd.init)

    from ltvlab.cli import run as run_cmd

    cli.add_command(run_cmd.run)

    from ltvlab.cli import ab as ab_cmd

    cli.add_command(ab_cmd.ab)

    from ltvlab.cli import ltv as ltv_cmd

    cli.add_command(ltv_cmd.ltv)

    from ltvlab.cli import experiment_value as experiment_value_cmd

    ltv_cmd.ltv.add_command(experiment_value_cmd.experiment_value)

    from ltvlab.cli import causal as causal_cmd

    cli.add_command(causal_cmd.causal)
    cli.add_command(causal_cmd.kpi)
    cli.add_command(causal_cmd.allocate)


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="ltvlab")
