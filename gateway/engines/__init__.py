"""Local engine processes the gateway starts, watches and stops with itself."""
