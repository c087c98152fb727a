"""A run's parts by name: the registries of built-in models, data and optimizers, what can be named
on the command line, plugin resolution, and building a run's parts from a validated RunConfig."""
