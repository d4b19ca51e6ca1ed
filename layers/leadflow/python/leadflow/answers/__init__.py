"""Stage 4, the lead answers: inbound mail and SMS, the classifier, SES events, unsubscribe, meetings,
rep-task outcomes, and what each answer does (outcomes: stop, suppress, forward, alert).

May import the shared top-level modules, `intake.contacts` and `intake.sms_opt_in`, `cadence`, `send`
and `store`; never `local`.
"""
