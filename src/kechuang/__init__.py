"""kechuang."""
