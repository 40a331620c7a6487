"""Strategic Assessment packs: a survey's report frozen, with its method and its answers' fingerprint."""
