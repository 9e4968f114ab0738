"""Neo4j: the case graph (connection, schema, cases, reads, imports, ruleset versions).

The local Neo4j used for development and tests is a developer tool in ``service.devtools``.
"""
