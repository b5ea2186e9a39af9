"""Can llmd-doctor see the cluster (or read the bundle), and what can it not see."""

AREA = "cluster"
TITLE = "Cluster"
