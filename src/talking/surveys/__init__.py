"""The resident side: survey definitions, answering them, and storing responses."""
