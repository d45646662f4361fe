from importlib.metadata import version

__version__ = version("atlas-certs")
