package dev.hostd.template;

import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.machine.LinuxSnapshot;
import dev.hostd.vmm.machine.LinuxVm;
import dev.hostd.vmm.machine.RestoreImage;
import dev.hostd.vmm.machine.VmShell;
import dev.hostd.vmm.machine.VmShells;
import dev.hostd.vmm.memory.MemoryFile;
import dev.hostd.vmm.memory.MemoryMapping;
import dev.hostd.vmm.snapshot.MicrovmState;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A Basepoint held in shared memory: its saved machine state (parsed and validated once) and its
 * memory file, opened read-only, from which every clone maps a copy-on-write view. A test-guest
 * template restores through {@link RestoreImage} and VMs made ahead ({@link Cloner}); a Linux
 * template through its opened {@link LinuxSnapshot} ({@link LinuxCloner}). {@link #kind()} says which.
 */
public final class Template implements AutoCloseable {
    static final String MEMORY_FILE = "memory";
    static final String STATE_FILE = "state";
    static final String META_ID = "template.id", META_CREATED = "template.created",
            META_IMAGE_SHA256 = "guest.image.sha256", META_IMAGE_BYTES = "guest.image.bytes",
            META_BUILD_MILLIS = "template.build.millis", META_HOSTD_VERSION = "hostd.version",
            META_INITRAMFS_SHA256 = "guest.initramfs.sha256";

    private final String id;
    private final Path directory;
    private final MicrovmState state;
    private final String formatVersion;
    private final GuestKind kind;
    // Test guest: the state ready for restores, the memory file, VMs made ahead; null for Linux.
    private final RestoreImage restoreImage;
    private final MemoryFile memory;
    private boolean closed;
    private volatile WriteSet writeSet;
    /** Clones-in-waiting: VMs with this template's RAM mapped, made ahead by a background thread. */
    private final VmShells shells;
    // Linux: the snapshot opened once (state checked, memory file open); null for the test guest.
    private final LinuxSnapshot linux;
    /** Linux restores hold the read lock, close the write lock: no restore maps a closed memory file. */
    private final ReentrantReadWriteLock linuxUse = new ReentrantReadWriteLock();

    /** A test-guest template. */
    Template(String id, Path directory, MicrovmState state, String formatVersion, MemoryFile memory, Kvm kvm, int shells) {
        this.id = id;
        this.directory = directory;
        this.state = state;
        this.formatVersion = formatVersion;
        this.kind = GuestKind.TEST_GUEST;
        this.restoreImage = RestoreImage.prepare(state);
        this.memory = memory;
        this.shells = new VmShells(kvm, shells, state.machine().irqchip(), this::mapForClone);
        this.linux = null;
    }

    /** A Linux template: the opened snapshot is the template's from here on (closed with it). */
    Template(String id, Path directory, LinuxSnapshot snapshot, String formatVersion) {
        this.id = id;
        this.directory = directory;
        this.state = snapshot.state();
        this.formatVersion = formatVersion;
        this.kind = GuestKind.LINUX;
        this.restoreImage = null;
        this.memory = null;
        this.shells = null;
        this.linux = snapshot;
    }

    /** Which guest the template holds. */
    public GuestKind kind() {
        return kind;
    }

    public int vcpuCount() {
        return state.machine().vcpuCount();
    }

    /**
     * A Linux clone: a new VM from the snapshot, its RAM a copy-on-write view of the memory file,
     * with the vCPUs waiting for {@code resume()} and the saved identity page kept (the cloner
     * writes the clone's). NOT_FOUND once the template is deleted.
     */
    LinuxVm restoreLinuxPaused(String name, Kvm kvm) {
        requireKind(GuestKind.LINUX);
        linuxUse.readLock().lock();
        try {
            if (closed) {
                throw new TemplateException(TemplateException.Kind.NOT_FOUND, "template " + id + " was deleted");
            }
            return LinuxVm.restorePaused(name, kvm, linux, (Identity) null);
        } finally {
            linuxUse.readLock().unlock();
        }
    }

    private void requireKind(GuestKind expected) {
        if (kind != expected) {
            throw new TemplateException(TemplateException.Kind.INTERNAL, "template " + id + " holds a " + kind.label()
                    + " guest, not a " + expected.label() + " guest");
        }
    }

    public String id() {
        return id;
    }

    public Path directory() {
        return directory;
    }

    public MicrovmState state() {
        return state;
    }

    /** The state ready for restores: parsed and copied to native memory once, used by every clone. */
    RestoreImage restoreImage() {
        requireKind(GuestKind.TEST_GUEST);
        return restoreImage;
    }

    public long memoryBytes() {
        return state.machine().memoryBytes();
    }

    public Instant createdAt() {
        return Instant.parse(state.metadata().getOrDefault(META_CREATED, Instant.EPOCH.toString()));
    }

    /** The state file's format version, "major.minor", as written (docs/snapshot-format.md). */
    public String formatVersion() {
        return formatVersion;
    }

    public String guestImageSha256() {
        return state.metadata().getOrDefault(META_IMAGE_SHA256, "");
    }

    /** A VM with a fresh copy-on-write view of the template's RAM, ready for a clone's state. */
    VmShell takeShell() {
        requireKind(GuestKind.TEST_GUEST);
        return shells.take();
    }

    /** A VM made ahead, or null if none is ready now: never makes one on the caller's thread. */
    VmShell pollShell() {
        requireKind(GuestKind.TEST_GUEST);
        return shells.poll();
    }

    /** VMs made ahead and ready now (none for a Linux template, which restores each VM whole). */
    public int readyShells() {
        return shells == null ? 0 : shells.readyCount();
    }

    /** A fresh copy-on-write view of the template's RAM, for one clone; the write set prefaulted when known. */
    private MemoryMapping mapForClone() {
        MemoryMapping ram;
        synchronized (this) {
            if (closed) {
                throw new TemplateException(TemplateException.Kind.NOT_FOUND, "template " + id + " was deleted");
            }
            ram = memory.mapPrivate();
        }
        WriteSet known = writeSet;
        if (known != null) {
            try {
                known.prefault(ram);
            } catch (RuntimeException e) {
                ram.close();
                throw e;
            }
        }
        return ram;
    }

    /** The pages a clone writes before it is ready, once a first clone has shown them; else null. */
    WriteSet writeSet() {
        return writeSet;
    }

    void learnWriteSet(MemoryMapping firstClone) {
        if (writeSet == null) {
            writeSet = WriteSet.learn(firstClone);
        }
    }

    /** Closes the VMs made ahead and the memory file; clones already made keep their mappings (and so the pages). */
    @Override
    public void close() {
        if (linux != null) {
            linuxUse.writeLock().lock();
            try {
                if (!closed) {
                    closed = true;
                    linux.close();
                }
            } finally {
                linuxUse.writeLock().unlock();
            }
            return;
        }
        shells.close();
        synchronized (this) {
            if (!closed) {
                closed = true;
                memory.close();
            }
        }
    }
}
