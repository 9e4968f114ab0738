"""Neo4j: the case graph, and the local Neo4j used for development and tests (``local``)."""
