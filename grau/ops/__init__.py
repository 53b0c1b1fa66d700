"""Operational endpoints for load balancers and orchestrators."""
