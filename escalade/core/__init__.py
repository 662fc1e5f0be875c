"""The pure domain core: calendars, policy, SLA clocks, escalation decision.

No Django, no database, no clock reading, no I/O: callers pass the policy, the facts and the instant.
"""
