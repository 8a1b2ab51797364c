"""Test helpers shared by every package's tests and the integration tests (never published)."""
