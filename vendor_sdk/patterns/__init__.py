"""Operator patterns: the language a target's YAML compiles to, matching and partitioning."""
