"""llmd-doctor: diagnose llm-d deployments on Kubernetes."""

__version__ = "0.1.0"
