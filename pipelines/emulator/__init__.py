"""Atlas Admin API emulator: a local server of the Admin API subset atlas-certs uses.

See docs/emulator.md for what is emulated and how to configure it.
"""

from .clock import EmulatorClock
from .emulator import AtlasEmulator
from .faults import FaultRule
from .fleet import FleetConfig
from .models import Cert, DatabaseUser, Org, Project
from .ratelimit import RateLimitConfig

__all__ = [
    "AtlasEmulator",
    "Cert",
    "DatabaseUser",
    "EmulatorClock",
    "FaultRule",
    "FleetConfig",
    "Org",
    "Project",
    "RateLimitConfig",
]
