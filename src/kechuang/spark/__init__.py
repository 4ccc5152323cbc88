"""National scale (issue 15): the facts out to Parquet, for runs on a Spark cluster."""
