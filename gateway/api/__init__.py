"""HTTP routes: the OpenAI surface under /v1, health probes, and the error rendering."""
