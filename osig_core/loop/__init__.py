"""The step core both drivers share: `osig run`'s engine (osig_core/engine/training.py) and osig.Monitor in a
user's loop (osig_core/monitor/driver.py). What differs between them is who owns the loop and the gradient;
what a step records, measures, writes, obeys and checkpoints is defined here once.

- core.StepCore: the loss-spike rule, the instrument loop, recording, the step's write, and every
  component's checkpoint state (instruments, loss recorder with its group detector, links).
- tracked.tracked_pass: the one tracked-loss pass (a no-grad forward over the tracked samples).
- controls.handle_controls: pause / resume / checkpoint / stop from `osig watch`.
"""
