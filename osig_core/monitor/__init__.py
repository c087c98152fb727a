"""`osig.Monitor`'s driver: your model, loop and optimizer, measured by the same step core as `osig run`.

`from osig_core.monitor import Monitor, StopTraining` stays a valid spelling; it is resolved on first
use so that importing a submodule of this package does not load the driver."""


def __getattr__(name: str):
    if name in ("Monitor", "StopTraining"):
        from osig_core.monitor import driver
        return getattr(driver, name)
    raise AttributeError(f"module 'osig_core.monitor' has no attribute {name!r}")
