"""`rejoinder serve --workers N`: N service processes behind the one Envoy.

- `spec.py`: what a worker is told at its start, and what it answers once it serves;
- `child.py`: a worker's life (serve, say so, drain at SIGTERM);
- `pool.py`: the supervisor's side (start, watch, restart, stop).
"""
