"""Tables of kechuang.push and kechuang.tiers: inbox messages, mutes, tiers."""
