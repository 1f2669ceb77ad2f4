"""Sweeps: many ordinary runs of one entry point over a space of parameter values."""
