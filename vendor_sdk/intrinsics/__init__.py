"""Intrinsic semantics: the `compute` language, checker, numpy reference, loop nest."""
