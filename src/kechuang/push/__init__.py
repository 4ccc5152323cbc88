"""Precise push (精准推送): inbox messages after each eligibility or scoring run."""
