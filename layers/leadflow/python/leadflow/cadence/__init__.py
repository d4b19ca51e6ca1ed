"""Stage 2, the plan: the cadence model, its state machine (ASL), the schedule in the lead's zone
(windows, holidays, spacing), A/B variants, enrollments and their executions, rescheduling and stops.

May import the shared top-level modules and `store`; never `intake`, `send` or `answers`.
"""
