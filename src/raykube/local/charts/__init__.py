"""raykube's Helm charts on this machine: the chart repository (`repo`) and the chart-deployed operator run
as a local process on fake nodes (`operator`)."""
