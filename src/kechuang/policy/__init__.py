"""Policies as code: versioned policy files, set-based eligibility with gaps, YAML cases."""
