package dev.hostd.template;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.kvm.HardwareVirtualization;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.machine.LinuxSnapshot;
import dev.hostd.vmm.memory.MemoryFile;
import dev.hostd.vmm.snapshot.MemoryChecksum;
import dev.hostd.vmm.snapshot.MicrovmState;
import dev.hostd.vmm.snapshot.SnapshotFile;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Supplier;

/**
 * Basepoint templates under {@code <root>/templates/<id>/} (by default {@code /dev/shm/hostd}):
 * build, list, get, verify, delete, and adopt what is already there when the process starts.
 * A template holds the test guest ({@link TemplateSpec}) or a Linux guest ({@link LinuxTemplateSpec});
 * its state file says which ({@link GuestKind}), and both kinds are adopted and verified alike.
 * A template directory appears only complete (built under a hidden name, then renamed), so a crash
 * mid-build leaves a hidden leftover that the next start removes, never a half template.
 */
public final class TemplateStore implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(TemplateStore.class.getName());
    private static final String BUILD_PREFIX = ".build-";

    /** A template directory found at start that could not be adopted, and why. It is left on disk. */
    public record Rejected(String id, Path directory, String reason) {}

    /** Outcome of {@link #verify}. */
    public record Verification(String id, boolean ok, String detail) {}

    private final Path templatesDir;
    private final Kvm kvm;
    private final int shellsPerTemplate;
    private final TemplateBuilder builder;
    private final LinuxTemplateBuilder linuxBuilder;
    private final Map<String, Template> templates = new ConcurrentSkipListMap<>();
    /** Templates being built, with the RAM bytes each may still write into the template file system. */
    private final Map<String, Long> building = new ConcurrentHashMap<>();
    private final List<Rejected> rejected = new ArrayList<>();

    private TemplateStore(Path root, Kvm kvm, Duration readyTimeout, int shellsPerTemplate, Supplier<Optional<String>> linuxHostCheck) {
        this.kvm = kvm;
        this.shellsPerTemplate = shellsPerTemplate;
        this.templatesDir = root.resolve("templates");
        this.builder = new TemplateBuilder(kvm, readyTimeout);
        this.linuxBuilder = new LinuxTemplateBuilder(kvm, readyTimeout, linuxHostCheck);
    }

    /** Opens the store, removing leftovers of interrupted builds and adopting every valid template. */
    public static TemplateStore open(Path root, Kvm kvm, Duration readyTimeout) {
        return open(root, kvm, readyTimeout, 0);
    }

    /**
     * @param shellsPerTemplate VMs each template keeps made ahead of time, with its RAM mapped
     *                          (two fds and the kernel's VM structures each); 0 makes every VM on
     *                          the cloning thread
     */
    public static TemplateStore open(Path root, Kvm kvm, Duration readyTimeout, int shellsPerTemplate) {
        return open(root, kvm, readyTimeout, shellsPerTemplate, HardwareVirtualization::missing);
    }

    /** With {@code linuxHostCheck} saying why Linux guests cannot run here (empty: they can); tests give a fake. */
    static TemplateStore open(Path root, Kvm kvm, Duration readyTimeout, int shellsPerTemplate, Supplier<Optional<String>> linuxHostCheck) {
        TemplateStore store = new TemplateStore(root, kvm, readyTimeout, shellsPerTemplate, linuxHostCheck);
        try {
            Files.createDirectories(store.templatesDir);
            store.adoptAll();
        } catch (IOException e) {
            throw new TemplateException(TemplateException.Kind.HOST_UNAVAILABLE, "cannot use template directory " + store.templatesDir + ": " + e.getMessage(), e);
        }
        return store;
    }

    public Path directory() {
        return templatesDir;
    }

    private void adoptAll() throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(templatesDir)) {
            for (Path dir : entries) {
                String name = dir.getFileName().toString();
                if (name.startsWith(BUILD_PREFIX)) {
                    LOG.log(System.Logger.Level.INFO, "removing leftover of an interrupted template build: {0}", dir);
                    deleteTree(dir);
                } else if (!name.startsWith(".") && Files.isDirectory(dir)) {
                    try {
                        TemplateSpec.validateId(name);
                        Template t = load(name, dir, true);
                        templates.put(name, t);
                        LOG.log(System.Logger.Level.INFO, "adopted template {0}", name);
                    } catch (IOException | RuntimeException e) { // one bad directory never stops the start
                        rejected.add(new Rejected(name, dir, e.getMessage()));
                        LOG.log(System.Logger.Level.WARNING, "not adopting template {0}: {1}", name, e.getMessage());
                    }
                }
            }
        }
    }

    /**
     * Reads and validates a template directory; with {@code verifyMemory}, checks the memory
     * checksum too (a Linux template's always: its snapshot is opened whole).
     */
    private Template load(String id, Path dir, boolean verifyMemory) throws IOException {
        Path stateFile = dir.resolve(Template.STATE_FILE);
        MicrovmState state = SnapshotFile.read(stateFile);
        // The version the file was written in: an adopted template may be of an older minor than this build writes.
        String formatVersion = SnapshotFile.formatVersion(stateFile);
        String recordedId = state.metadata().get(Template.META_ID);
        if (recordedId != null && !recordedId.equals(id)) {
            throw new TemplateException(TemplateException.Kind.CORRUPT, "template directory " + dir + " holds template '" + recordedId + "'");
        }
        if (GuestKind.of(state) == GuestKind.LINUX) {
            return new Template(id, dir, openLinux(dir), formatVersion);
        }
        Path memoryPath = dir.resolve(state.memory().fileName());
        checkMemoryFile(state, memoryPath, verifyMemory);
        return new Template(id, dir, state, formatVersion, MemoryFile.openReadOnly(memoryPath),
                kvm, shellsPerTemplate);
    }

    /** A Linux template's snapshot, fully checked (shape, devices, layout, memory size and CRC); anything wrong is CORRUPT. */
    private static LinuxSnapshot openLinux(Path dir) {
        try {
            return LinuxSnapshot.open(dir);
        } catch (VmmException e) {
            throw new TemplateException(TemplateException.Kind.CORRUPT, e.getMessage(), e);
        }
    }

    private static void checkMemoryFile(MicrovmState state, Path memoryPath, boolean checksum) throws IOException {
        if (!Files.isRegularFile(memoryPath)) {
            throw new TemplateException(TemplateException.Kind.CORRUPT, "memory file " + memoryPath + " is missing");
        }
        long size = Files.size(memoryPath);
        if (size != state.memory().sizeBytes()) {
            throw new TemplateException(TemplateException.Kind.CORRUPT, "memory file " + memoryPath + " is " + size
                    + " bytes, the state file says " + state.memory().sizeBytes());
        }
        if (checksum) {
            int crc = MemoryChecksum.crc32c(memoryPath);
            if (crc != state.memory().crc32c()) {
                throw new TemplateException(TemplateException.Kind.CORRUPT, String.format(
                        "memory file %s is corrupt: CRC32C %08x, the state file says %08x", memoryPath, crc, state.memory().crc32c()));
            }
        }
    }

    /** Builds a test-guest template; fails with CONFLICT if the id exists or is being built. */
    public Template build(TemplateSpec spec) {
        return build(spec.id(), (long) spec.memoryMiB() << 20, dir -> builder.build(spec, dir));
    }

    /**
     * Builds a Linux template: boots the kernel to its agent's HELLO and snapshots it. Refused
     * before any VM exists with INVALID_INPUT (unreadable file, not a kernel), UNSUPPORTED_HOST
     * (no vmx/svm here) or CONFLICT (the id exists or is being built).
     */
    public Template build(LinuxTemplateSpec spec) {
        // The files are read only once the id is this build's: concurrent duplicates read nothing.
        return build(spec.id(), (long) spec.memoryMiB() << 20, dir -> linuxBuilder.build(spec, linuxBuilder.prepare(spec), dir));
    }

    @FunctionalInterface
    private interface BuildStep {
        void buildInto(Path staging) throws IOException;
    }

    /** Builds under a hidden name, publishes by an atomic rename, then loads the result as adoption would. */
    private Template build(String id, long ramBytes, BuildStep step) {
        if (templates.containsKey(id) || building.putIfAbsent(id, ramBytes) != null) {
            throw new TemplateException(TemplateException.Kind.CONFLICT, "template '" + id + "' already exists");
        }
        Path staging = templatesDir.resolve(BUILD_PREFIX + id + "-" + UUID.randomUUID());
        try {
            if (Files.exists(templatesDir.resolve(id))) {
                throw new TemplateException(TemplateException.Kind.CONFLICT, "template directory " + templatesDir.resolve(id)
                        + " exists but was not adopted (see the store's rejected list): delete it first");
            }
            checkFreeSpace(id, ramBytes);
            Files.createDirectory(staging);
            step.buildInto(staging);
            Path target = templatesDir.resolve(id);
            try {
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw new TemplateException(TemplateException.Kind.INTERNAL, "cannot publish template atomically: " + e.getMessage(), e);
            }
            Template template = load(id, target, false);
            templates.put(id, template);
            return template;
        } catch (Exception e) {
            deleteQuietly(staging);
            throw Errors.wrap("building template '" + id + "' failed", e);
        } finally {
            building.remove(id);
        }
    }

    /**
     * The build writes guest RAM through a MAP_SHARED mapping of a file in the template directory;
     * on a full memory file system such a write is a SIGBUS that kills the whole process. So a
     * build whose RAM does not fit the free space (less what other builds may still write) is
     * refused before anything is mapped.
     */
    private void checkFreeSpace(String id, long ramBytes) throws IOException {
        long free = Files.getFileStore(templatesDir).getUsableSpace();
        long reserved = building.entrySet().stream().filter(e -> !e.getKey().equals(id)).mapToLong(Map.Entry::getValue).sum();
        if (ramBytes > free - reserved) {
            throw new TemplateException(TemplateException.Kind.HOST_UNAVAILABLE, String.format(
                    "not enough memory for template '%s': its %d MiB of RAM do not fit the %d MiB free in the file system of %s"
                            + "%s: delete unused templates or give that file system more space (e.g. a larger /dev/shm)",
                    id, ramBytes >> 20, Math.max(0, free) >> 20, templatesDir,
                    reserved > 0 ? " (" + (reserved >> 20) + " MiB of it reserved by builds in progress)" : ""));
        }
    }

    public List<Template> list() {
        return List.copyOf(templates.values());
    }

    public Template get(String id) {
        Template t = templates.get(id);
        if (t == null) {
            throw new TemplateException(TemplateException.Kind.NOT_FOUND, "no template '" + id + "'");
        }
        return t;
    }

    /** Re-reads the state file and checks the memory file's size and checksum. */
    public Verification verify(String id) {
        Template t = get(id);
        if (t.kind() == GuestKind.LINUX) {
            try (LinuxSnapshot onDisk = openLinux(t.directory())) {
                return new Verification(id, true, String.format("Linux snapshot intact: state checked, memory CRC32C %08x over %d bytes",
                        onDisk.state().memory().crc32c(), onDisk.state().memory().sizeBytes()));
            } catch (TemplateException e) {
                return new Verification(id, false, e.getMessage());
            }
        }
        try {
            MicrovmState onDisk = SnapshotFile.read(t.directory().resolve(Template.STATE_FILE));
            checkMemoryFile(onDisk, t.directory().resolve(onDisk.memory().fileName()), true);
            return new Verification(id, true, String.format("state and memory intact (CRC32C %08x over %d bytes)",
                    onDisk.memory().crc32c(), onDisk.memory().sizeBytes()));
        } catch (IOException | TemplateException e) {
            return new Verification(id, false, e.getMessage());
        }
    }

    /** Removes a template. Live clones keep their memory until they are deleted (tmpfs keeps unlinked pages mapped). */
    public void delete(String id) {
        Template t = templates.remove(id);
        if (t == null) {
            throw new TemplateException(TemplateException.Kind.NOT_FOUND, "no template '" + id + "'");
        }
        t.close();
        try {
            deleteTree(t.directory());
        } catch (IOException e) {
            throw new TemplateException(TemplateException.Kind.INTERNAL, "template '" + id + "' forgotten but its files remain: " + e.getMessage(), e);
        }
    }

    /**
     * Directories not adopted at start that are still on disk. An operator who removes one (as a
     * build of the same id asks) sees it leave the list without a restart.
     */
    public synchronized List<Rejected> rejected() {
        rejected.removeIf(r -> !Files.exists(r.directory(), LinkOption.NOFOLLOW_LINKS));
        return List.copyOf(rejected);
    }

    /** Closes the memory files; templates stay on disk for the next start to adopt. */
    @Override
    public void close() {
        templates.values().forEach(Template::close);
        templates.clear();
    }

    private static void deleteQuietly(Path dir) {
        try {
            deleteTree(dir);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "could not remove {0}: {1}", dir, e.getMessage());
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
