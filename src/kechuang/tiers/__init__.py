"""Tiered cultivation (梯次培育): tiers from policy results, yearly snapshots, the pool."""
