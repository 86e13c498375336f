"""AI-content labels: GB 45438-2025 implicit-label fields, an EU AI Act Art. 50(2)
machine-readable marker, an Ed25519 signature binding the label to the text, an
optional visible notice, and the verifier that checks all of it offline."""
