"""The shell around bundles: reading policy folders, building and verifying signed artifacts."""
