"""Text tasks: corpus readers and writers (CoNLL, CoNLL-U) and text-specific model parts."""
