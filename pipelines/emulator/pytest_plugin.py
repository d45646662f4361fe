"""pytest fixtures for the Atlas emulator. Load with
``pytest_plugins = ["pipelines.emulator.pytest_plugin"]`` in conftest.py.

- ``atlas_emulator``: a running emulator with the demo fleet (seed 7), fresh for each test.
- ``atlas_emulator_factory``: call it with AtlasEmulator arguments to start more emulators;
  each is stopped when the test ends.
- ``atlas_session``: a requests.Session for ``atlas_emulator`` with the demo API key (Digest)
  and the v2 Accept header.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from requests.auth import HTTPDigestAuth

from .emulator import AtlasEmulator
from .fleet import FleetConfig
from .versioning import SUPPORTED_VERSION

V2_ACCEPT = f"application/vnd.atlas.{SUPPORTED_VERSION}+json"
DEMO_SEED = 7


@pytest.fixture
def atlas_emulator_factory() -> Iterator[Callable[..., AtlasEmulator]]:
    started: list[AtlasEmulator] = []

    def start(**kwargs: Any) -> AtlasEmulator:
        emulator = AtlasEmulator(**kwargs).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def atlas_emulator(atlas_emulator_factory: Callable[..., AtlasEmulator]) -> AtlasEmulator:
    return atlas_emulator_factory(seed=DEMO_SEED, fleet=FleetConfig.demo())


@pytest.fixture
def atlas_session(atlas_emulator: AtlasEmulator) -> Iterator[requests.Session]:
    session = requests.Session()
    session.auth = HTTPDigestAuth(*atlas_emulator.demo_api_key)
    session.headers["Accept"] = V2_ACCEPT
    yield session
    session.close()
