"""Sweeps: a grid of `osig run` members under one directory (`osig sweep`), torch-free.

grid.py      flags -> fixed settings, axes and members (names, `osig run` arguments)
manifest.py  sweep.json, and what each member needs next (skip / resume / start)
launch.py    starting a member: a local process or a submitit job; slots, threads and devices
pool.py      at most N members at once, progress from their run directories, Ctrl-C forwarded once
"""
