"""Wire-level emulators of upstream model servers, for end-to-end gateway tests."""
