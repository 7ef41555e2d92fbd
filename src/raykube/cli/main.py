"""The `raykube` command line: one typer app, one module per command group."""

from __future__ import annotations

import typer

from raykube import __version__
from raykube.cli import doctor, job, local, render, serve
from raykube.cli.kubectl_ray.app import mount as mount_kubectl_ray
from raykube.cli.kubectl_ray.app import run_cli
from raykube.cli.operator import operator

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Ray on Kubernetes, KubeRay-compatible.")
app.add_typer(local.app, name="local")
app.add_typer(job.app, name="job")
app.add_typer(serve.app, name="serve")
app.command(name="render")(render.render)
app.command()(operator)
app.command()(doctor.doctor)
mount_kubectl_ray(app, with_version_and_job=False)  # get, create, scale, delete, session, log


@app.command()
def version() -> None:
    """Print raykube's version."""
    typer.echo(__version__)


def main(argv: list[str] | None = None) -> None:
    """The ``raykube`` console script: failures are one ``Error: ...`` line (``--debug`` adds the traceback)."""
    run_cli(app, "raykube", argv)


if __name__ == "__main__":
    main()
