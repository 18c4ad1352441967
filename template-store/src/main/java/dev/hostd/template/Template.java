package dev.hostd.template;

import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.machine.RestoreImage;
import dev.hostd.vmm.machine.VmShell;
import dev.hostd.vmm.machine.VmShells;
import dev.hostd.vmm.memory.MemoryFile;
import dev.hostd.vmm.memory.MemoryMapping;
import dev.hostd.vmm.snapshot.MicrovmState;
import java.nio.file.Path;
import java.time.Instant;

/**
 * A Basepoint held in shared memory: its saved machine state (parsed and validated once) and its
 * memory file, opened read-only, from which every clone maps a copy-on-write view.
 */
public final class Template implements AutoCloseable {
    static final String MEMORY_FILE = "memory";
    static final String STATE_FILE = "state";
    static final String META_ID = "template.id", META_CREATED = "template.created",
            META_IMAGE_SHA256 = "guest.image.sha256", META_IMAGE_BYTES = "guest.image.bytes",
            META_BUILD_MILLIS = "template.build.millis", META_HOSTD_VERSION = "hostd.version";

    private final String id;
    private final Path directory;
    private final MicrovmState state;
    private final String formatVersion;
    private final RestoreImage restoreImage;
    private final MemoryFile memory;
    private boolean closed;
    private volatile WriteSet writeSet;
    /** Clones-in-waiting: VMs with this template's RAM mapped, made ahead by a background thread. */
    private final VmShells shells;

    Template(String id, Path directory, MicrovmState state, String formatVersion, MemoryFile memory, Kvm kvm, int shells) {
        this.id = id;
        this.directory = directory;
        this.state = state;
        this.formatVersion = formatVersion;
        this.restoreImage = RestoreImage.prepare(state);
        this.memory = memory;
        this.shells = new VmShells(kvm, shells, state.machine().irqchip(), this::mapForClone);
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
        return shells.take();
    }

    /** VMs made ahead and ready now. */
    public int readyShells() {
        return shells.readyCount();
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
        shells.close();
        synchronized (this) {
            if (!closed) {
                closed = true;
                memory.close();
            }
        }
    }
}
