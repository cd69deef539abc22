"""A stand-in for the three entry points of AWS Glue's `awsglue` package that lakectl's job
script uses, for running it on a local Spark in lakectl's tests (Glue's package is not on PyPI).
Written from AWS's documentation of their behaviour, not from Glue's code; never shipped."""
