"""Record schemas (Avro, in ``avro/``) and the pydantic models of the outside contract."""
