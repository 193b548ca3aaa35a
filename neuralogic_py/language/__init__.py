"""Text and Python DSL -> typed, immutable IR (terms, atoms, weights, rules, templates, data)."""
