"""The Ray dashboard's Jobs API, as raykube speaks it.

* :mod:`raykube.ray.models`: typed wire models (pydantic) of the Jobs REST API.
* :mod:`raykube.ray.errors`: typed failures — not found, unreachable, server error.
* :mod:`raykube.ray.client`: :class:`~raykube.ray.client.DashboardClient`, an async httpx client built
  once in ``__init__`` (transport injectable), one connection pool for every dashboard, every call
  bounded by a timeout.
* :mod:`raykube.ray.standin`: a stand-in dashboard (real HTTP on loopback, scripted answers) for tests,
  benchmarks and local development.

This package never imports the controllers (an import-linter contract).
"""
