"""The deterministic demo county generator."""
