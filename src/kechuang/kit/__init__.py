"""Small shared building blocks: errors, audit, codes, i18n, safe export, time display."""
