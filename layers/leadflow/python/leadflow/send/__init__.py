"""Stage 3, a touch goes out: run a touch, compose and render its message, build MIME, send email
(SES) and SMS (SNS), hand rep tasks over, alert the owner, lint templates.

May import the shared top-level modules, `cadence` and `store`; never `answers` or `intake`.
"""
