"""Logic: the integer-coded database, bottom-up grounding, the ground program, samples and queries."""
