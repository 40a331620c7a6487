"""Invitations to members surveys: sending them, reminders, and response rates by district."""
