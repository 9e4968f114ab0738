"""Casewise: routine decisions by rules, complex cases by experts, joined."""
