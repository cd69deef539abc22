"""`GlueContext(spark_context)`: wraps a SparkContext; `spark_session` is its SparkSession."""

from pyspark.sql import SparkSession


class GlueContext:
    def __init__(self, spark_context, **options):
        self._sc = spark_context
        self.spark_session = SparkSession(spark_context)

    def getSparkSession(self):
        return self.spark_session
