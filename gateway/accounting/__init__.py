"""Token counting, prices, budgets and the usage ledger."""
