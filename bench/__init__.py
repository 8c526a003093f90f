"""Benchmarks, run by script/bench; each file is a script (see its docstring)."""
