"""`raykube doctor [KIND/NAME | -A]`: why Ray resources are not ready, in plain words (see raykube.doctor).

Without an argument every RayCluster, RayJob and RayService of the namespace is examined (``-A``: of all
namespaces); RayClusters owned by a RayJob or RayService are examined with their owner. Exit code 0 when
nothing is wrong, 1 with findings; ``-o json`` prints the findings for machines.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from raykube.cli.kubectl_ray.session import Context, Kubeconfig, Namespace, PluginError, closing, fail, run, target
from raykube.doctor import collect
from raykube.doctor.diagnose import diagnose
from raykube.doctor.findings import Finding
from raykube.runtime.errors import ApiError, is_not_found
from raykube.runtime.objects import Obj

Result = tuple[str, Obj, list[Finding]]


def doctor(
    resource: Annotated[str | None, typer.Argument(metavar="[KIND/NAME]",
                                                   help="raycluster/NAME, rayjob/NAME, rayservice/NAME or NAME "
                                                        "(a RayCluster); default: everything in the namespace.")]
    = None,
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A", help="Examine every namespace.")] = False,
    output: Annotated[str, typer.Option("--output", "-o", help="text (default) or json.")] = "text",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Explain why a RayCluster, RayJob or RayService is not ready, and what to do."""
    if output not in ("text", "json"):
        fail(f"unknown output format {output!r}: use text or json")
    chosen: tuple[str, str] | None = None
    if resource:
        kind, sep, name = resource.partition("/")
        if not sep:
            kind, name = "raycluster", kind
        if kind.lower() not in collect.KINDS or not name:
            fail(f"cannot examine {resource!r}: use raycluster/NAME, rayjob/NAME or rayservice/NAME")
        chosen = (kind.lower(), name)
    t = target(kubeconfig, context, namespace)
    results = run(_examine(t, chosen, None if all_namespaces and not chosen else t.namespace))
    if output == "json":
        typer.echo(json.dumps(_as_json(results), indent=2))
    else:
        _print(results, t.namespace, all_namespaces)
    raise typer.Exit(1 if any(findings for _, _, findings in results) else 0)


async def _examine(t: Any, chosen: tuple[str, str] | None, namespace: str | None) -> list[Result]:
    async with closing(t.client()) as client:
        if chosen:
            kind, resource = collect.KINDS[chosen[0]]
            try:
                objects = [(kind, await client.get(resource, chosen[1], namespace=namespace))]
            except ApiError as err:
                if is_not_found(err):
                    raise PluginError(f"{kind} {chosen[1]} not found in namespace {namespace}") from err
                raise
        else:
            objects = await collect.targets(client, namespace)
        view = await collect.operator_view(client)
        crds = await collect.crd_view(client)
        results = []
        for kind, obj in objects:
            snap = await collect.snapshot(client, kind, obj, view, crds)
            results.append((kind, obj, diagnose(snap)))
        return results


def _as_json(results: list[Result]) -> dict[str, Any]:
    return {"healthy": not any(f for _, _, f in results),
            "resources": [{"kind": kind, "namespace": obj["metadata"]["namespace"], "name": obj["metadata"]["name"],
                           "findings": [f.as_dict() for f in findings]} for kind, obj, findings in results]}


def _print(results: list[Result], namespace: str, all_namespaces: bool) -> None:
    if not results:
        where = "any namespace" if all_namespaces else f"namespace {namespace}"
        typer.echo(f"No RayClusters, RayJobs or RayServices found in {where}.")
        return
    for kind, obj, findings in results:
        header = f"{kind} {obj['metadata']['namespace']}/{obj['metadata']['name']}"
        if not findings:
            typer.echo(f"{header}: healthy")
            continue
        typer.echo(f"{header}: {len(findings)} problem{'s' if len(findings) > 1 else ''}")
        for finding in findings:
            typer.echo(f"  x {finding.subject}: {finding.summary} [{finding.code}]")
            for line in finding.evidence:
                typer.echo(f"      | {line}")
            if finding.fix:
                typer.echo(f"      > {finding.fix}")
