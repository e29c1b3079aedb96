"""The `pipework` command line."""
