"""What every feature's pages share: guards, form reading, redirects and flashes, times as staff read them.

Nothing here knows a feature: a helper that only one feature's pages use stays in that feature.
"""
