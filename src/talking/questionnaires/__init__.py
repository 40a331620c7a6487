"""The staff side of surveys: build, publish, schedule, close, and start the next wave."""
