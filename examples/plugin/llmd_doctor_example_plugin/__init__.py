"""An example llmd-doctor plugin: one check, registered through an entry point."""
