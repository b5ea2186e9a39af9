"""The endpoint picker (EPP): its Deployment, its logs, its flags and plugins config."""

AREA = "epp"
TITLE = "Endpoint picker (EPP)"
