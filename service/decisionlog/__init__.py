"""The decision log: every routing decision, durable on local disk, then in Neo4j.

``spool``    group-committed JSON-lines segments (the answer waits for the fsync)
``flusher``  moves spooled records to Neo4j in batches, exactly once, retrying while it is down
``log``      the service's log: a spool and (with a graph) a flusher, started by the lifespan
``records``  the record of a decision, and its Neo4j row
``store``    the reads behind GET /v1/decisions and `casewise decisions export`
"""
