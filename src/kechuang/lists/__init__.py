"""Published lists (积分榜), points dividends (积分红利) and the yearly statistics of the
innovation-points scheme (spec/scoring.md, "Points dividends and lists")."""
