"""Public results, "you said, we did": what staff publish of a survey, for residents and partners."""
