"""raykube: Ray on Kubernetes, a drop-in replacement for the KubeRay operator, written in Python."""

__version__ = "0.1.0"
