"""A real distributed deployment on one machine (processes), for the fault tests, the
benchmark suite and `make cluster-up` / `make cluster-down`."""

from .cluster import ADMIN_PASSWORD, Cluster, ClusterSpec
from .processes import ManagedProcess, ProcessFailed

__all__ = ["ADMIN_PASSWORD", "Cluster", "ClusterSpec", "ManagedProcess", "ProcessFailed"]
