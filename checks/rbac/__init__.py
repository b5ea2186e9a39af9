"""What the endpoint picker's ServiceAccount may do."""

AREA = "rbac"
TITLE = "RBAC"
