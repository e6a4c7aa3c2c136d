"""Table-driven fuzz of the public API (issue 17)."""
