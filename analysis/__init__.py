"""Pure analysis of top-N issue surveys: rankings with uncertainty, weighting, groups, themes.

Imports only numpy, scikit-learn and msgspec; takes and returns msgspec Structs or numpy arrays.
Start at `analysis.report.build_report`.
"""

VERSION = "analysis-1.0"
