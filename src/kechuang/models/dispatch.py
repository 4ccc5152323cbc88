"""Tables of kechuang.dispatch: assignments of commissioners and reviewers."""
