"""Reports for analysts: survey data out of the database and into `analysis`, and exports.

`tallies` keeps the running counts the reports read; `data` loads a survey's statistics and
samples; `service` builds (and caches) the report; `exports` writes it as JSON, CSV or XLSX.
"""
