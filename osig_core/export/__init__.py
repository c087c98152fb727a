"""A run's numbers where users already look: npz/csv tables, TensorBoard event files, trackers' flat dicts."""
