"""Do the versions of the pieces agree."""

AREA = "compat"
TITLE = "Version compatibility"
