"""End to end: a real chat completion through the gateway."""

AREA = "e2e"
TITLE = "End-to-end"
