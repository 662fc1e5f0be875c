"""Compliance reports: the figures per month, customer and priority, and the sealed months that keep
them (a month whose incidents are all resolved no longer changes unless an incident of it does)."""
