"""The web layer shared by every domain package: dependencies, rendering, i18n, errors."""
