"""Stage 5, the weekly report: records read by day, metrics, playbook diagnostics, A/B verdicts, rendering.

May import the shared top-level modules, `store` and `send.mail`; nothing from the other stages.
"""
