"""The enterprise profile (画像) and its what-if panel (spec/scoring.md, "Profile")."""
