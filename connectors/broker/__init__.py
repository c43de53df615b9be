"""The embedded single-node Apache Kafka broker (KRaft), run from Maven Central jars."""
