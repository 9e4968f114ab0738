package casewise.neo4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;
import org.neo4j.logging.Level;
import org.neo4j.logging.log4j.Log4jLogProvider;

/**
 * Runs an embedded Neo4j Community database with only its Bolt connector open, on loopback.
 *
 * <p>Usage: {@code LocalNeo4j --home DIR [--port 7687] [--pagecache 64m]}. Started and stopped by
 * {@code service/graph/local.py}; SIGTERM (or Ctrl-C) shuts the database down cleanly through the
 * JVM's shutdown hook. Authentication is off: the server listens on 127.0.0.1 only and holds
 * development and test data, and with auth off any NEO4J_USER/NEO4J_PASSWORD the application is
 * configured with is accepted, so the defaults need no coordination with this launcher.
 */
public final class LocalNeo4j {
    private LocalNeo4j() {}

    public static void main(String[] args) throws IOException, InterruptedException {
        Path home = null;
        int port = BoltConnector.DEFAULT_PORT;
        long pageCache = ByteUnit.mebiBytes(64);
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--home" -> home = Path.of(require(args[i], value));
                case "--port" -> port = Integer.parseInt(require(args[i], value));
                case "--pagecache" -> pageCache = ByteUnit.parse(require(args[i], value));
                default -> usage("unknown argument: " + args[i]);
            }
            i++;
        }
        if (home == null) {
            usage("--home is required");
        }
        home = home.toAbsolutePath().normalize();
        Files.createDirectories(home);

        long started = System.nanoTime();
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setUserLogProvider(new Log4jLogProvider(System.out, Level.INFO))
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                // Bolt otherwise waits 5 s twice on shutdown for connections that are gone
                // by then; a test run stops this server every time.
                .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofMillis(500))
                .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofMillis(500))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCache)
                // Small transaction logs, not preallocated, and only what recovery needs:
                // this is development and test data, not a system of record.
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, ByteUnit.mebiBytes(16))
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "keep_none")
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("casewise-neo4j: shutting down");
            dbms.shutdown();
            System.out.println("casewise-neo4j: stopped");
            System.out.flush();
            stopped.countDown();
        }, "casewise-neo4j-shutdown"));

        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        long ms = (System.nanoTime() - started) / 1_000_000;
        System.out.printf(
                "casewise-neo4j: ready bolt://127.0.0.1:%d database=%s home=%s in %d ms%n",
                port, db.databaseName(), home, ms);
        System.out.flush();
        stopped.await();
    }

    private static String require(String flag, String value) {
        if (value == null) {
            usage(flag + " needs a value");
        }
        return value;
    }

    private static void usage(String problem) {
        System.err.println("casewise-neo4j: " + problem);
        System.err.println("usage: LocalNeo4j --home DIR [--port 7687] [--pagecache 64m]");
        System.exit(2);
    }
}
