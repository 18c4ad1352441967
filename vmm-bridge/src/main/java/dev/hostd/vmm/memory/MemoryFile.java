package dev.hostd.vmm.memory;

import dev.hostd.vmm.DensityKnobs;
import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.internal.linux.Libc;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A file that backs guest RAM: an anonymous memfd, or a file in a memory file system
 * ({@code /dev/shm}) that outlives the process, as Basepoint templates do. Holes cost nothing,
 * so a 1 GiB guest that touched 2 MiB uses 2 MiB.
 */
public final class MemoryFile implements AutoCloseable {
    private final int fd;
    private final long size;
    private final String name;
    private final AtomicBoolean closed = new AtomicBoolean();

    private MemoryFile(int fd, long size, String name) {
        this.fd = fd;
        this.size = size;
        this.name = name;
    }

    /** An anonymous memory file of {@code size} bytes, gone when closed and unmapped. */
    public static MemoryFile anonymous(String name, long size) {
        int fd = Libc.memfdCreate(name, Libc.MFD_CLOEXEC);
        return sized(fd, size, name);
    }

    /** Creates a new file of {@code size} bytes; refuses to replace an existing one. */
    public static MemoryFile create(Path path, long size) {
        int fd = Libc.open(path.toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, 0600);
        return sized(fd, size, path.toString());
    }

    /** Opens an existing memory file read-only: enough for copy-on-write (MAP_PRIVATE) clones. */
    public static MemoryFile openReadOnly(Path path) {
        long size;
        try {
            size = Files.size(path);
        } catch (IOException e) {
            throw new UncheckedIOException("size of memory file " + path, e);
        }
        return new MemoryFile(Libc.open(path.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0), size, path.toString());
    }

    private static MemoryFile sized(int fd, long size, String name) {
        try {
            Libc.ftruncate(fd, size);
            return new MemoryFile(fd, size, name);
        } catch (VmmException e) {
            Libc.close(fd);
            throw e;
        }
    }

    public long size() {
        return size;
    }

    /** A writable shared mapping: writes go to the file (for building a template). */
    public MemoryMapping mapShared() {
        return new MemoryMapping(Libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0, name), false);
    }

    /**
     * A writable copy-on-write mapping: reads share the file's pages, the first write to a page
     * copies it into memory private to this mapping. This is what makes a clone cheap.
     */
    public MemoryMapping mapPrivate() {
        MemoryMapping mapping = new MemoryMapping(Libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_NORESERVE, fd, 0, name), true);
        try {
            applyDensityKnobs(mapping, DensityKnobs.CURRENT);
            return mapping;
        } catch (RuntimeException e) {
            mapping.close();
            throw e;
        }
    }

    /** The guest-RAM knobs of {@link DensityKnobs}, on a clone's copy-on-write mapping. */
    static void applyDensityKnobs(MemoryMapping mapping, DensityKnobs knobs) {
        if (knobs.ksm()) {
            mapping.advise(Libc.MADV_MERGEABLE, "KSM for guest RAM (" + DensityKnobs.KSM + ")");
        }
        if (knobs.noHugePages()) {
            mapping.advise(Libc.MADV_NOHUGEPAGE, "no huge pages for guest RAM (" + DensityKnobs.NO_HUGE_PAGES + ")");
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Libc.close(fd);
        }
    }
}
