"""Innovation points (企业创新积分): indicator systems as data, the scoring engine and
the batch command ``kechuang index compute``."""
