pytest_plugins = ["pipelines.emulator.pytest_plugin"]
