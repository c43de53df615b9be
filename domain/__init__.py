"""Pure domain rules of the datahub: no I/O, no Kafka, no clock."""
