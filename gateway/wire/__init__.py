"""OpenAI's wire format: request validation, response repair, SSE framing."""
