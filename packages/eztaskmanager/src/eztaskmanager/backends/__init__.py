"""Queue backends shipped with the core."""
