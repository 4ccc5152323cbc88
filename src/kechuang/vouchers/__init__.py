"""Innovation vouchers (科技创新券): issue, providers and their services, redemption, settlement."""
