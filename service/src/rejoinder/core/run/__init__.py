"""One response from start to terminal event: the upstream turns, tools, output items and events."""
