"""Command-line commands; each module adds one subcommand to `atlas-certs`."""
