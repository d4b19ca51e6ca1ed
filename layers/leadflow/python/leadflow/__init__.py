"""leadflow: multi-touch lead follow-up on AWS Step Functions, SES and SNS."""
