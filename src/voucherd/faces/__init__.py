"""The face runtime: one request path shared by every face (native API, vendor dialects).

A face declares only what is its own: how it authenticates, how it parses and renders, and one
error table (``errors.ErrorTable``). Everything between the request and the response -- the
unit of work, Idempotency-Key, mapping errors to the face's shape, 503 on a database outage,
the internal-error answer, request ids -- is written once, here.
"""
