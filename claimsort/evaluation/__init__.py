"""Evaluation: metrics, reports, comparison of runs."""
