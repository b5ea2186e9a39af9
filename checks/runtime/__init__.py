"""Runtime evidence: what the logs say the deployment is doing — model-server load per pool and role,
the endpoint picker's traffic against the model servers', the gateway's access log."""

AREA = "runtime"
TITLE = "Runtime evidence"
