"""What every driver and instrument computes on: the per-sample loss and passes over the training set."""
