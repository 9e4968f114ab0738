"""Developer tools that are not part of the running service: the local Neo4j launcher
(``localneo4j``, a JDK/Maven build of ``tools/neo4j``) and its ``casewise neo4j`` commands."""
