"""Accounts, roles, region scope, sessions, CSRF and login rate limiting."""
