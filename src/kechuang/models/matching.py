"""Tables of kechuang.matching registries: demands, achievements, commissioners, talent."""
