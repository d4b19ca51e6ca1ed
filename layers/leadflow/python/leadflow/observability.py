"""Powertools Logger and Metrics, shared by every handler.

Tracing comes from Lambda and Step Functions active tracing; the Powertools
Tracer would import the X-Ray SDK on every cold start, which intake cannot afford.
"""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics(namespace="leadflow")
