"""Workflow Language v2: YAML loading, inline parameters, specs and their validation. Pure."""
