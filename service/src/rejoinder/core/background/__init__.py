"""Runs that outlive their request, shared by replicas; what a shutdown drains and a crash leaves."""
