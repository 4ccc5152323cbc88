"""Technology finance (科技金融): bank products, monthly needs (月份征集), consent-gated
matching, quarterly consultations (季度会商), annual assessment (年度评估), the risk
compensation pool and innovation-points loans (积分贷). See docs/finance.md."""
