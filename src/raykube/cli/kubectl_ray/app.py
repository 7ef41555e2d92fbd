"""The `kubectl-ray` entry point and the command table shared with `raykube`.

:func:`main` is the console script. :func:`run_cli` (``raykube`` uses it too) runs the typer app without
click's standalone mode so that every failure, a bad flag included, is one ``Error: ...`` line (exit 1, or 2
for usage errors) instead of a usage box or a traceback; ``--debug`` anywhere before ``--`` (or
``RAYKUBE_DEBUG=1``) shows the traceback.
"""

from __future__ import annotations

import os
import sys
import traceback

import typer

from raykube.cli.kubectl_ray import access, create, get, jobs, manage
from raykube.cli.kubectl_ray.session import debug_enabled, describe

app = typer.Typer(name="kubectl ray", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="kubectl plugin for Ray on Kubernetes (KubeRay-compatible, served by raykube).")


def mount(target: typer.Typer, *, with_version_and_job: bool) -> None:
    """Register the plugin's commands on ``target`` (``raykube`` already has its own ``version`` and ``job``)."""
    target.add_typer(get.app, name="get")
    target.add_typer(create.app, name="create")
    target.add_typer(manage.scale_app, name="scale")
    target.command("delete")(manage.delete)
    target.command("session")(access.session)
    target.command("log")(access.log)
    target.command("logs", hidden=True)(access.log)
    if with_version_and_job:
        target.add_typer(jobs.app, name="job")
        target.command("version")(manage.version)


mount(app, with_version_and_job=True)


def main(argv: list[str] | None = None) -> None:
    """Run ``kubectl ray`` with one-line errors."""
    run_cli(app, "kubectl ray", argv)


def run_cli(cli: typer.Typer, prog_name: str, argv: list[str] | None = None) -> None:
    """Run a typer app so that every failure is one ``Error: ...`` line (``kubectl ray`` and ``raykube`` alike)."""
    args = list(sys.argv[1:] if argv is None else argv)
    cut = args.index("--") if "--" in args else len(args)
    # --debug reaches the command's code (and the SDK) as RAYKUBE_DEBUG=1, for this call only: run in-process
    # (tests, embedding), a later call must not inherit it.
    before = os.environ.get("RAYKUBE_DEBUG")
    if "--debug" in args[:cut]:
        args.remove("--debug")
        os.environ["RAYKUBE_DEBUG"] = "1"
    try:
        code = _invoke(cli, prog_name, args)
    finally:
        if before is None:
            os.environ.pop("RAYKUBE_DEBUG", None)
        else:
            os.environ["RAYKUBE_DEBUG"] = before
    sys.exit(code)


def _invoke(cli: typer.Typer, prog_name: str, args: list[str]) -> int:
    """The exit code of one call; a failure is printed as one ``Error: ...`` line first."""
    try:
        code = cli(args=args, prog_name=prog_name, standalone_mode=False)
    except typer.Exit as done:
        code = done.exit_code
    except typer.Abort:
        code = 130
    except Exception as err:
        if type(err).__name__ == "NoArgsIsHelpError" and getattr(err, "ctx", None) is not None:
            typer.echo(err.ctx.get_help())  # type: ignore[attr-defined]  # a group without its subcommand, as cobra
            sys.exit(0)
        if debug_enabled():
            traceback.print_exc()
        typer.echo(f"Error: {_usage(err) or describe(err)}", err=True)
        code = int(getattr(err, "exit_code", 1)) if _usage(err) else 1
    return code if isinstance(code, int) else 0


def _usage(err: Exception) -> str:
    """The message of a click usage error (bad flag, missing argument) with a pointer to --help, else ""."""
    if not isinstance(err, typer.BadParameter.__mro__[1]):  # click's UsageError, vendored by typer
        return ""
    ctx = getattr(err, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return f"{err.format_message()}{hint}"  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
