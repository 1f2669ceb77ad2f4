"""The command line: a thin typer layer over the core. The only package importing typer/rich."""
