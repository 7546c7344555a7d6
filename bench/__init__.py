"""The Rejoinder benchmark: what the gateway costs over its upstream. Run `python -m bench`."""
