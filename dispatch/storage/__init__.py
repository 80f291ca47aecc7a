"""Storage: SQLModel tables and the async database handle."""
