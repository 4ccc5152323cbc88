"""Robustness of scoring runs: Monte Carlo uncertainty and Sobol sensitivity analysis
(spec/scoring.md, "robust"; docs/scoring/robustness.md)."""
