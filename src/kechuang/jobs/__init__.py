"""Jobs: long work with progress in a worker (docs/jobs.md)."""
