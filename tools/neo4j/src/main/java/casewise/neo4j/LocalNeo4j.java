package casewise.neo4j;

import inet.ipaddr.IPAddressString;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.neo4j.bolt.BoltServer;
import org.neo4j.bolt.protocol.common.connector.Connector;
import org.neo4j.bolt.protocol.common.connector.connection.Connection;
import org.neo4j.bolt.protocol.common.connector.listener.ConnectorListener;
import org.neo4j.configuration.Config;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.configuration.ssl.ClientAuth;
import org.neo4j.configuration.ssl.SslPolicyConfig;
import org.neo4j.configuration.ssl.SslPolicyScope;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;
import org.neo4j.io.fs.DefaultFileSystemAbstraction;
import org.neo4j.kernel.impl.security.User;
import org.neo4j.kernel.internal.GraphDatabaseAPI;
import org.neo4j.logging.Level;
import org.neo4j.logging.NullLogProvider;
import org.neo4j.logging.log4j.Log4jLogProvider;
import org.neo4j.memory.EmptyMemoryTracker;
import org.neo4j.server.security.SecureHasher;
import org.neo4j.server.security.SystemGraphCredential;
import org.neo4j.server.security.auth.CommunitySecurityModule;
import org.neo4j.server.security.auth.FileUserRepository;

/**
 * Runs an embedded Neo4j Community database with only its Bolt connector open, on loopback.
 *
 * <p>Usage: {@code LocalNeo4j --home DIR --password-file FILE [--port 7687] [--pagecache 64m]
 * [--tls-dir DIR]}.
 * Started and stopped by {@code service/graph/local.py}; SIGTERM (or Ctrl-C) shuts the database
 * down cleanly through the JVM's shutdown hook.
 *
 * <p>Loopback is no boundary against a web page the developer visits: a browser may open a
 * WebSocket to 127.0.0.1, and Bolt speaks WebSocket on the same port. So authentication is on,
 * with the password in FILE (which local.py creates once, mode 600), and an HTTP request on the
 * Bolt port (what a WebSocket starts with) is answered 403 and closed. Cypher reaches neither
 * files nor the network (no file URLs, every address blocked for LOAD CSV), no procedure beyond
 * Neo4j's built-in ones is loaded, and a transaction that runs longer than 60 s is terminated.
 *
 * <p>With {@code --tls-dir DIR}, Bolt takes only TLS connections ({@code server.bolt.tls_level=
 * REQUIRED}) under the SSL policy of scope {@code bolt}: {@code DIR/private.key} and {@code
 * DIR/public.crt} (PEM), no client certificate asked for ({@code client_auth=NONE}), as a
 * production server with a certificate would run.
 */
public final class LocalNeo4j {
    /** The one user of the local server: Neo4j's initial admin. */
    static final String USER = "neo4j";

    static final Duration TRANSACTION_TIMEOUT = Duration.ofSeconds(60);

    private LocalNeo4j() {}

    public static void main(String[] args) throws Exception {
        Path home = null;
        Path passwordFile = null;
        int port = BoltConnector.DEFAULT_PORT;
        long pageCache = ByteUnit.mebiBytes(64);
        Path tlsDir = null;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--home" -> home = Path.of(require(args[i], value));
                case "--password-file" -> passwordFile = Path.of(require(args[i], value));
                case "--port" -> port = Integer.parseInt(require(args[i], value));
                case "--pagecache" -> pageCache = ByteUnit.parse(require(args[i], value));
                case "--tls-dir" -> tlsDir = Path.of(require(args[i], value)).toAbsolutePath();
                default -> usage("unknown argument: " + args[i]);
            }
            i++;
        }
        if (home == null) {
            usage("--home is required");
        }
        if (passwordFile == null) {
            usage("--password-file is required");
        }
        home = home.toAbsolutePath().normalize();
        Files.createDirectories(home);
        // Embedded Neo4j would take the home folder (which holds the password file) as the
        // import directory; this empty one is never written to, and file URLs are off anyway.
        Path importDir = Files.createDirectories(home.resolve("import"));
        String password = readPassword(passwordFile);
        Path initialUser = writeInitialUser(home, password);

        long started = System.nanoTime();
        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home)
                .setUserLogProvider(new Log4jLogProvider(System.out, Level.INFO))
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                // Bolt otherwise waits 5 s twice on shutdown for connections that are gone
                // by then; a test run stops this server every time.
                .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofMillis(500))
                .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofMillis(500))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                // Cypher reaches no file and no address: LOAD CSV gets no file:// URL (and
                // there is no import directory) and no host, whatever it resolves to. The
                // allowlist loads no procedure beyond Neo4j's built-in ones (it does not apply
                // to those; none of them reads files or fetches URLs), whatever lands in plugins/.
                .setConfig(GraphDatabaseSettings.allow_file_urls, false)
                .setConfig(GraphDatabaseSettings.load_csv_file_url_root, importDir)
                .setConfig(GraphDatabaseInternalSettings.cypher_ip_blocklist,
                        List.of(new IPAddressString("0.0.0.0/0"), new IPAddressString("::/0")))
                .setConfig(GraphDatabaseSettings.procedure_allowlist, List.of())
                .setConfig(GraphDatabaseSettings.procedure_unrestricted, List.of())
                .setConfig(GraphDatabaseSettings.transaction_timeout, TRANSACTION_TIMEOUT)
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCache)
                // Small transaction logs, not preallocated, and only what recovery needs:
                // this is development and test data, not a system of record.
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, ByteUnit.mebiBytes(16))
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "keep_none");
        if (tlsDir == null) {
            builder.setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED);
        } else {
            SslPolicyConfig bolt = SslPolicyConfig.forScope(SslPolicyScope.BOLT);
            builder.setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.REQUIRED)
                    .setConfig(bolt.enabled, true)
                    .setConfig(bolt.base_directory, tlsDir)
                    .setConfig(bolt.private_key, tlsDir.resolve("private.key"))
                    .setConfig(bolt.public_certificate, tlsDir.resolve("public.crt"))
                    .setConfig(bolt.trusted_dir, Files.createDirectories(tlsDir.resolve("trusted")))
                    .setConfig(bolt.revoked_dir, Files.createDirectories(tlsDir.resolve("revoked")))
                    .setConfig(bolt.client_auth, ClientAuth.NONE);
        }
        DatabaseManagementService dbms = builder.build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("casewise-neo4j: shutting down");
            dbms.shutdown();
            System.out.println("casewise-neo4j: stopped");
            System.out.flush();
            stopped.countDown();
        }, "casewise-neo4j-shutdown"));

        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        refuseWebSockets((GraphDatabaseAPI) db);
        // The system database has taken the password by now (at its first start, or in place
        // of the default password of a server that ran with auth off); no hash of it stays.
        Files.deleteIfExists(initialUser);
        long ms = (System.nanoTime() - started) / 1_000_000;
        System.out.printf(
                "casewise-neo4j: ready bolt://127.0.0.1:%d database=%s home=%s auth=on tls=%s websocket=refused in %d ms%n",
                port, db.databaseName(), home, tlsDir == null ? "off" : "required", ms);
        System.out.flush();
        stopped.await();
    }

    /** Gives the password in {@code file}: its first line, of 8 characters or more. */
    private static String readPassword(Path file) throws IOException {
        List<String> lines = Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
        String password = lines.isEmpty() ? "" : lines.get(0).strip();
        if (password.length() < 8) {
            usage(file + " must hold the password (8 or more characters) on its first line");
        }
        return password;
    }

    /**
     * Writes the {@code auth.ini} that {@code neo4j-admin dbms set-initial-password} writes, so
     * the system database creates the neo4j user with this password at its first start, or
     * sets it at a later start while the user still has the default password (a server that
     * ran with auth off). Both happen while the DBMS starts, before Bolt accepts connections.
     */
    private static Path writeInitialUser(Path home, String password) throws Exception {
        Config config = Config.newBuilder().set(GraphDatabaseSettings.neo4j_home, home).build();
        Path file = CommunitySecurityModule.getInitialUserRepositoryFile(config);
        Files.createDirectories(file.getParent());
        Files.deleteIfExists(file);
        try (var fs = new DefaultFileSystemAbstraction()) {
            var users = new FileUserRepository(fs, file, NullLogProvider.getInstance(), EmptyMemoryTracker.INSTANCE);
            users.start();
            var credential = SystemGraphCredential.createCredentialForPassword(
                    password.getBytes(StandardCharsets.UTF_8), new SecureHasher());
            users.create(new User(USER, null, credential, false, false));
            users.shutdown();
        }
        return file;
    }

    /** Makes every Bolt connector answer an HTTP request (a WebSocket upgrade) with 403. */
    private static void refuseWebSockets(GraphDatabaseAPI db) {
        BoltServer bolt = db.getDependencyResolver().resolveDependency(BoltServer.class);
        ConnectorListener gate = new ConnectorListener() {
            @Override
            public void onConnectionCreated(Connection connection) {
                connection.modifyPipeline(pipeline -> pipeline.addFirst("casewise-no-http", new NoHttp()));
            }
        };
        for (Connector<?> connector : bolt.getConnectors()) {
            connector.registerListener(gate);
        }
    }

    /**
     * Looks at the first byte a client sends: Bolt starts with its preamble (0x60), an HTTP
     * request (a browser's WebSocket handshake) with a letter; that gets 403 and is closed.
     */
    static final class NoHttp extends ChannelInboundHandlerAdapter {
        private static final byte[] FORBIDDEN = ("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
                        + "Content-Length: 42\r\nConnection: close\r\n\r\n"
                        + "Bolt over WebSocket is off on this server\n")
                .getBytes(StandardCharsets.US_ASCII);

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf buf && buf.isReadable()) {
                byte first = buf.getByte(buf.readerIndex());
                if (Character.isLetter(first)) {
                    buf.release();
                    ctx.writeAndFlush(Unpooled.wrappedBuffer(FORBIDDEN)).addListener(ChannelFutureListener.CLOSE);
                    return;
                }
                ctx.pipeline().remove(this);
            }
            ctx.fireChannelRead(msg);
        }
    }

    private static String require(String flag, String value) {
        if (value == null) {
            usage(flag + " needs a value");
        }
        return value;
    }

    private static void usage(String problem) {
        System.err.println("casewise-neo4j: " + problem);
        System.err.println(
                "usage: LocalNeo4j --home DIR --password-file FILE [--port 7687] [--pagecache 64m] [--tls-dir DIR]");
        System.exit(2);
    }
}
