"""Where runs execute: this machine, a Ray cluster or a Slurm cluster (one protocol)."""
