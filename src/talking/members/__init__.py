"""The resident panel: members, reached by email, each answering for their own district."""
