"""Excel and Markdown builders: pure functions from data to bytes."""
