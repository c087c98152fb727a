"""Named presets: the paper's experiments as RunConfig overrides, their types and GPU time estimates."""
