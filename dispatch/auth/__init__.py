"""Identity: password hashing, sessions, and who may do what."""
