"""Expert review (issue 12): expert pool, conflicts of interest, optimal and fair reviewer
assignment, reviewing against a rubric, aggregation and funding decisions."""
