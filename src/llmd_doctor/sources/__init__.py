"""Sources turn a live cluster or a bundle into a Snapshot."""
