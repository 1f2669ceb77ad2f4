"""DVC data: pins from dvc.lock and *.dvc files, verified and restored without importing dvc."""
