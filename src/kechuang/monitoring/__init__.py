"""Regional monitoring: innovation indicators computed from enterprise facts or uploaded,
targets and progress per year, key-task lists with department reports and dispatch reports."""
