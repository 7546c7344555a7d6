"""Observability at the seams (DESIGN.md section 8, names from shared/OBSERVABILITY.md): the record of the
call in progress, metrics, access logs and traces. Nothing else writes metrics or access logs itself."""
