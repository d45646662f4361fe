"""Benchmark harness of atlas-certs: requests, wall time and memory of a run against the
Atlas emulator, side by side with a sequential loop and dlt's rest_api source."""
