"""Pure parsers and validators for MLproject, python_env.yaml and parameters."""
