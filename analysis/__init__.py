"""Pure analysis of top-N issue surveys: rankings with uncertainty, weighting, groups, themes.

Imports only numpy, scikit-learn and msgspec; takes and returns msgspec Structs or numpy arrays.
Start at `analysis.report.build_report`.
"""

# 1.1: county figures from the published districts only (no secondary suppression of districts);
# raking by age band and sex.
VERSION = "analysis-1.1"
