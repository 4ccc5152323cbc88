"""Master data: regions, industries, departments, the metric catalogue, enterprises."""
