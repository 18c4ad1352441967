package dev.hostd.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hostd.cgroup.CgroupDetection;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Debian package as built by the {@code package} phase: its metadata, its layout once unpacked
 * into a temporary root ({@code dpkg -x}), the systemd unit under {@code systemd-analyze verify},
 * the maintainer scripts, and the installed launchers run from that root.
 */
class DebPackageIT {
    static final String DAEMON_MAIN = "dev/hostd/daemon/HostdApplication.class";
    static Path deb;
    static Path root;
    static Path work;

    record Run(int exit, String out, String err) {
        String all() {
            return out + err;
        }
    }

    @BeforeAll
    static void unpack() throws Exception {
        Path dir = Path.of(System.getProperty("hostd.deb.dir", "target"));
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> debs = s.filter(p -> p.getFileName().toString().matches("hostd_.*_amd64\\.deb")).toList();
            assertEquals(1, debs.size(), "exactly one hostd .deb in " + dir + ": " + debs);
            deb = debs.getFirst();
        }
        work = Files.createTempDirectory("hostd-deb-it-");
        root = Files.createDirectory(work.resolve("root"));
        Run x = run(List.of("dpkg", "-x", deb.toString(), root.toString()), Map.of(), 120);
        assertEquals(0, x.exit(), "dpkg -x: " + x.all());
    }

    @AfterAll
    static void cleanUp() throws IOException {
        if (work != null) {
            deleteTree(work);
        }
    }

    // ---- metadata ----

    @Test
    void controlFieldsAndConffiles() throws Exception {
        assertEquals("hostd", field("Package"));
        assertEquals("amd64", field("Architecture"));
        assertTrue(field("Version").startsWith("0.1.0"), field("Version"));
        assertTrue(field("Depends").contains("temurin-25-jdk"), field("Depends"));
        // Tenant networks (hostd.network.enabled) need ip, nft and libnftables.so.1 on the host.
        for (String tool : List.of("iproute2", "nftables", "libnftables1")) {
            assertTrue(field("Recommends").contains(tool), "Recommends: " + field("Recommends"));
        }
        assertFalse(field("Description").isBlank());

        Path control = work.resolve("control");
        Run e = run(List.of("dpkg-deb", "-e", deb.toString(), control.toString()), Map.of(), 60);
        assertEquals(0, e.exit(), e.all());
        assertEquals(List.of("/etc/hostd/hostd.yml"), Files.readAllLines(control.resolve("conffiles")));
        for (String script : List.of("postinst", "prerm", "postrm")) {
            Path p = control.resolve(script);
            assertTrue(Files.isExecutable(p), script + " executable");
            Run n = run(List.of("sh", "-n", p.toString()), Map.of(), 30);
            assertEquals(0, n.exit(), script + " is valid sh: " + n.all());
        }
    }

    @Test
    void contentsAreOwnedByRoot() throws Exception {
        Run c = run(List.of("dpkg-deb", "-c", deb.toString()), Map.of(), 60);
        assertEquals(0, c.exit(), c.all());
        for (String line : c.out().split("\n")) {
            assertTrue(line.contains(" root/root "), line);
        }
    }

    // ---- layout ----

    @Test
    void layoutAfterUnpacking() throws IOException {
        assertMode("usr/bin/hostd", "rwxr-xr-x");
        assertMode("usr/bin/hostctl", "rwxr-xr-x");
        assertMode("lib/systemd/system/hostd.service", "rw-r--r--");
        assertMode("usr/lib/tmpfiles.d/hostd.conf", "rw-r--r--");
        assertMode("usr/lib/sysusers.d/hostd.conf", "rw-r--r--");
        assertMode("etc/hostd/hostd.yml", "rw-r--r--");

        Path lib = root.resolve("usr/lib/hostd/lib");
        List<String> jars;
        try (Stream<Path> s = Files.list(lib)) {
            jars = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        for (String prefix : List.of("hostd-", "template-store-", "vmm-bridge-", "picocli-", "httpclient5-",
                "httpcore5-", "jackson-databind-", "slf4j-api-")) {
            assertTrue(jars.stream().anyMatch(j -> j.startsWith(prefix) && j.endsWith(".jar")), prefix + " in " + jars);
        }
        assertFalse(jars.stream().anyMatch(j -> j.startsWith("junit") || j.startsWith("opentest4j") || j.startsWith("apiguardian")),
                "no test dependencies: " + jars);

        String hostctl = Files.readString(root.resolve("usr/bin/hostctl"));
        assertTrue(hostctl.contains("MAIN_CLASS=dev.hostd.cli.Hostctl"), hostctl);
        assertTrue(hostctl.contains("/usr/lib/jvm/temurin-25-jdk-amd64"), hostctl);
        assertTrue(hostctl.contains("--enable-native-access=ALL-UNNAMED"), hostctl);
        assertTrue(Files.readString(root.resolve("usr/bin/hostd")).contains("MAIN_CLASS=dev.hostd.daemon.HostdApplication"));

        String tmpfiles = Files.readString(root.resolve("usr/lib/tmpfiles.d/hostd.conf"));
        for (String d : List.of("d      /run/hostd ", "d      /dev/shm/hostd ", "d      /var/lib/hostd ")) {
            assertTrue(tmpfiles.contains(d), d + " in\n" + tmpfiles);
        }
        assertTrue(Files.readString(root.resolve("usr/lib/sysusers.d/hostd.conf")).contains("\ng hostd -"));

        String yml = Files.readString(root.resolve("etc/hostd/hostd.yml"));
        for (String key : List.of("socket:", "path: /run/hostd/hostd.sock", "templates:", "root: /dev/shm/hostd",
                "limits:", "max-sandboxes:", "max-payload-bytes:", "cgroups:\n", "    enabled: true\n")) {
            assertTrue(yml.contains(key), key + " in\n" + yml);
        }
    }

    @Test
    void unitKeepsTheSettingsHostdNeeds() throws IOException {
        List<String> unit = Files.readAllLines(root.resolve("lib/systemd/system/hostd.service"));
        for (String setting : List.of("Type=notify", "Restart=on-failure", "ExecStart=/usr/bin/hostd",
                "LimitNOFILE=1048576", "TasksMax=65536", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                "NoNewPrivileges=yes", "DevicePolicy=closed", "DeviceAllow=/dev/kvm rw", "DeviceAllow=/dev/fuse rw",
                "DeviceAllow=/dev/net/tun rw", "Delegate=yes", "MemoryHigh=85%", "MemoryMax=90%",
                "ReadWritePaths=/var/lib/hostd /dev/shm/hostd /run/hostd -/run/netns")) {
            assertTrue(unit.contains(setting), setting);
        }
        String caps = unit.stream().filter(l -> l.startsWith("CapabilityBoundingSet=")).findFirst().orElseThrow();
        assertTrue(caps.contains("CAP_NET_ADMIN") && caps.contains("CAP_SYS_ADMIN"), caps);
        for (String forbidden : List.of("PrivateDevices=yes", "MemoryDenyWriteExecute=yes",
                "ProtectControlGroups=yes", "PrivateNetwork=yes")) {
            assertFalse(unit.contains(forbidden), forbidden + " would break KVM, the JIT, cgroups or netns");
        }
    }

    // ---- systemd-analyze verify ----

    @Test
    void unitPassesSystemdAnalyzeVerify() throws Exception {
        assumeTrue(onPath("systemd-analyze"), "systemd-analyze is not installed (apt package systemd): "
                + "the unit cannot be verified on this host");
        // A root that is this host plus the package: the host's units (targets, slices) next to ours.
        Path vroot = work.resolve("verify-root");
        copyTree(root, vroot);
        Path units = vroot.resolve("lib/systemd/system");
        for (Path hostUnits : List.of(Path.of("/lib/systemd/system"), Path.of("/usr/lib/systemd/system"))) {
            if (Files.isDirectory(hostUnits)) {
                try (Stream<Path> s = Files.list(hostUnits)) {
                    for (Path u : s.toList()) {
                        Path target = units.resolve(u.getFileName().toString());
                        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS) && Files.isRegularFile(u, LinkOption.NOFOLLOW_LINKS)) {
                            Files.copy(u, target);
                        }
                    }
                }
            }
        }
        Run v = run(List.of("systemd-analyze", "verify", "--man=no", "--generators=no", "--root=" + vroot,
                "/lib/systemd/system/hostd.service"), Map.of(), 120);
        assertEquals(0, v.exit(), "systemd-analyze verify:\n" + v.all());
        List<String> aboutUs = v.all().lines().filter(l -> l.contains("hostd.service")).toList();
        assertEquals(List.of(), aboutUs, "no warnings about the unit (unknown keys, bad values)");
    }

    // ---- maintainer scripts ----

    @Test
    void postinstCreatesGroupAndDirectoriesAndNeedsNoSystemdAsPid1() throws Exception {
        Path control = work.resolve("control-postinst");
        assertEquals(0, run(List.of("dpkg-deb", "-e", deb.toString(), control.toString()), Map.of(), 60).exit());
        // Stand-ins for the tools postinst calls; they record their arguments.
        Path bin = Files.createDirectories(work.resolve("stub-bin"));
        Path calls = work.resolve("calls.log");
        for (String tool : List.of("systemd-sysusers", "systemd-tmpfiles", "systemctl", "groupadd")) {
            Path stub = bin.resolve(tool);
            Files.writeString(stub, "#!/bin/sh\necho \"" + tool + " $*\" >> " + calls + "\n");
            Files.setPosixFilePermissions(stub, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Run r = run(List.of("sh", control.resolve("postinst").toString(), "configure", ""),
                Map.of("PATH", bin + ":/usr/bin:/bin"), 60);
        assertEquals(0, r.exit(), r.all());
        List<String> log = Files.readAllLines(calls);
        assertTrue(log.contains("systemd-sysusers /usr/lib/sysusers.d/hostd.conf"), log.toString());
        assertTrue(log.contains("systemd-tmpfiles --create /usr/lib/tmpfiles.d/hostd.conf"), log.toString());
        boolean systemdIsPid1 = Files.isDirectory(Path.of("/run/systemd/system"));
        assertEquals(systemdIsPid1, log.contains("systemctl daemon-reload"), log.toString());
        assertFalse(log.stream().anyMatch(l -> l.startsWith("systemctl try-restart")), "fresh install: no restart");

        assertEquals(1, run(List.of("sh", control.resolve("postinst").toString(), "bogus"), Map.of(), 60).exit());
        for (String script : List.of("prerm", "postrm")) {
            Run s = run(List.of("sh", control.resolve(script).toString(), "remove"),
                    Map.of("PATH", bin + ":/usr/bin:/bin"), 60);
            assertEquals(0, s.exit(), script + ": " + s.all());
        }
    }

    // ---- the installed launchers ----

    @Test
    void installedHostctlRunsFromTheTemporaryRoot() throws Exception {
        Path hostctl = root.resolve("usr/bin/hostctl");
        Run help = run(List.of(hostctl.toString(), "--help"), javaEnv(), 120);
        assertEquals(0, help.exit(), help.all());
        assertTrue(help.out().startsWith("Usage: hostctl"), help.out());
        assertTrue(help.out().contains("Exit codes:"), help.out());
        assertTrue(help.out().contains("6   daemon unreachable"), help.out());
        assertEquals("", help.err(), "no warnings (SLF4J, native access) on stderr");

        Path socket = work.resolve("no-daemon.sock");
        Run unreachable = run(List.of(hostctl.toString(), "--socket", socket.toString(), "host"), javaEnv(), 120);
        assertEquals(6, unreachable.exit(), unreachable.all());
        assertTrue(unreachable.err().contains(socket.toString()), unreachable.err());
        assertEquals(1, run(List.of(hostctl.toString(), "--no-such-option"), javaEnv(), 120).exit());
    }

    @Test
    void launcherSaysSoWhenJavaIsMissing() throws Exception {
        Run r = run(List.of(root.resolve("usr/bin/hostctl").toString(), "--help"),
                Map.of("JAVA_HOME", work.resolve("no-jdk").toString()), 60);
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("no Java at " + work.resolve("no-jdk")), r.err());
    }

    @Test
    void installedDaemonStartsOnATemporarySocketAndAnswersHostctlHost() throws Exception {
        assumeTrue(packageHoldsDaemon(), "the package holds no " + DAEMON_MAIN.replace('/', '.').replace(".class", "")
                + " (the daemon is not merged yet): nothing to start");
        Path socket = work.resolve("run/hostd.sock");
        Path templates = work.resolve("shm");
        Files.createDirectories(socket.getParent());
        Files.createDirectories(templates);
        Map<String, String> env = new java.util.HashMap<>(javaEnv());
        env.put("MICRONAUT_CONFIG_FILES", root.resolve("etc/hostd/hostd.yml").toString());
        env.put("HOSTD_SOCKET_PATH", socket.toString());
        env.put("HOSTD_TEMPLATES_ROOT", templates.toString());
        // The packaged config enables sandbox cgroups; this daemon gets a container of its own (a daemon
        // with the same container refuses to start), or none where this host has no writable cgroup.
        String container = "hostd-it-deb-" + ProcessHandle.current().pid();
        // Where the daemon (a child of this JVM, so in its cgroups) makes it, on v1 or v2 hosts alike;
        // none where this host has no cgroup hierarchy to use.
        Path containerDir = containerDirectory(container);
        boolean cgroups = containerDir != null && Files.isWritable(containerDir.getParent());
        if (!cgroups) {
            System.err.println("DebPackageIT: no writable cgroup hierarchy here: the daemon runs with hostd.cgroups.enabled=false");
        }
        // Its own state dir too: the packaged /var/lib/hostd may hold another run's tenant networks (a reused machine)
        // or be locked by another hostd on this host.
        env.put("HOSTD_JAVA_OPTS", "-Dhostd.socket.path=" + socket + " -Dhostd.templates.root=" + templates
                + " -Dhostd.state-dir=" + work.resolve("state") + " -Dhostd.cgroups.container=" + container
                + (cgroups ? "" : " -Dhostd.cgroups.enabled=false"));
        ProcessBuilder pb = new ProcessBuilder(root.resolve("usr/bin/hostd").toString())
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("hostd.log").toFile());
        pb.environment().putAll(env);
        Process daemon = pb.start();
        try {
            Path hostctl = root.resolve("usr/bin/hostctl");
            // Wait (bounded, not a speed check) until the daemon answers on its socket.
            Instant deadline = Instant.now().plus(Duration.ofMinutes(2));
            Run health;
            do {
                if (!daemon.isAlive()) {
                    fail("hostd exited with " + daemon.exitValue() + ":\n" + Files.readString(work.resolve("hostd.log")));
                }
                health = run(List.of(hostctl.toString(), "--socket", socket.toString(), "health"), javaEnv(), 120);
                if (health.exit() != 0) {
                    Thread.sleep(250);
                }
            } while (health.exit() != 0 && Instant.now().isBefore(deadline));
            assertEquals(0, health.exit(), "hostd never answered on " + socket + ": " + health.all()
                    + "\nhostd log:\n" + Files.readString(work.resolve("hostd.log")));

            if (cgroups) {
                assertTrue(Files.isDirectory(containerDir),
                        "the packaged config's sandbox cgroups are on: container " + containerDir + " made");
            }
            Run host = run(List.of(hostctl.toString(), "--socket", socket.toString(), "host"), javaEnv(), 120);
            assertEquals(0, host.exit(), host.all());
            assertTrue(host.out().contains("version:") && host.out().contains("sandboxes:"), host.out());
            Run json = run(List.of(hostctl.toString(), "--socket", socket.toString(), "--json", "host"), javaEnv(), 120);
            assertEquals(0, json.exit(), json.all());
            assertTrue(json.out().contains("\"kvm\""), json.out());
        } finally {
            daemon.destroy(); // SIGTERM: the daemon's orderly shutdown
            if (!daemon.waitFor(60, TimeUnit.SECONDS)) {
                daemon.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(socket);
        }
        boolean left = containerDir != null && Files.exists(containerDir);
        if (left) { // the daemon was killed: its groups hold no thread of a live process any more
            try (var groups = Files.list(containerDir)) {
                for (Path g : groups.filter(Files::isDirectory).toList()) {
                    Files.delete(g);
                }
            }
            Files.delete(containerDir);
        }
        assertFalse(left, "the daemon's stop removed its cgroup container " + containerDir);
    }

    // ---- helpers ----

    /** The container's directory as the daemon's backend will make it, or null where no cgroup backend is usable. */
    static Path containerDirectory(String container) {
        try {
            return CgroupDetection.scan().containerDirectory(container);
        } catch (dev.hostd.cgroup.CgroupException e) {
            return null;
        }
    }

    static boolean packageHoldsDaemon() throws IOException {
        try (Stream<Path> s = Files.list(root.resolve("usr/lib/hostd/lib"))) {
            for (Path jar : s.filter(p -> p.toString().endsWith(".jar")).toList()) {
                try (JarFile j = new JarFile(jar.toFile())) {
                    if (j.getEntry(DAEMON_MAIN) != null) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** The launcher's default JDK if this host has it, else the JDK running this test. */
    static Map<String, String> javaEnv() {
        Path temurin = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");
        return Files.isExecutable(temurin) ? Map.of() : Map.of("JAVA_HOME", System.getProperty("java.home"));
    }

    static String field(String name) throws Exception {
        Run r = run(List.of("dpkg-deb", "-f", deb.toString(), name), Map.of(), 60);
        assertEquals(0, r.exit(), r.all());
        return r.out().strip();
    }

    static void assertMode(String path, String mode) throws IOException {
        Path p = root.resolve(path);
        assertTrue(Files.isRegularFile(p), path + " exists");
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
        assertEquals(mode, PosixFilePermissions.toString(perms), path);
    }

    static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Runs a command to completion (killing it if it outlives {@code timeoutSeconds}). */
    static Run run(List<String> command, Map<String, String> env, int timeoutSeconds) throws Exception {
        Path out = Files.createTempFile(work, "out-", ".txt");
        Path err = Files.createTempFile(work, "err-", ".txt");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().remove("HOSTD_SOCKET");
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                fail(command + " did not finish within " + timeoutSeconds + " s");
            }
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
                }
            }
        }
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            List<Path> all = new ArrayList<>(s.sorted(Comparator.reverseOrder()).toList());
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        }
    }
}
