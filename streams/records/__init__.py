"""The records boundary: how domain objects become the bytes straum stores, and back.

One module per record type (or per request and its reply), each with ``encode`` and
``decode`` functions between bytes and a domain object, or a typed dict where the record has
no domain object. Nothing outside this package (and the codec in streams/serialisation.py)
calls ``codec(...)``: a record's shape is written down once. The hot path reads through the
codec's pre-parsed, same-schema path, with no model validated per record.
"""
