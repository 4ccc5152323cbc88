"""Administration pages: accounts and the audit log."""
