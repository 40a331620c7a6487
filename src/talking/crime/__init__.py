"""Recorded crime from police.uk: importing street-level files, and the counts reports set beside concern."""
