"""Who is calling: API keys (held hashed) and what their team may use."""
