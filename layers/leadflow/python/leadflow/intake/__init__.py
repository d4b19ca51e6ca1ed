"""Stage 1, a lead arrives: accept a submission, score and route it (cadence, owner), index its contacts.

May import the shared top-level modules, `cadence` (to enroll), `send.alerts` (the owner alert) and `store`.
"""
