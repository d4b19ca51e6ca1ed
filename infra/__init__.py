"""leadflow's AWS infrastructure: a CDK app (app.py) composing one stack of constructs."""
