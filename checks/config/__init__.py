"""What the user's config file says the deployment should look like."""

AREA = "config"
TITLE = "Configuration"
