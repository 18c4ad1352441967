package dev.hostd.vmm.snapshot;

import java.util.Objects;

/**
 * Where guest RAM was saved: a separate file beside the state file, so that a restore can map it
 * instead of reading it.
 *
 * @param fileName  a plain file name in the directory of the state file (no {@code '/'}, no {@code ".."})
 * @param sizeBytes size of the memory file
 * @param crc32c    CRC32C of the whole memory file ({@link MemoryChecksum})
 */
public record MemoryState(String fileName, long sizeBytes, int crc32c) {
    public MemoryState {
        Objects.requireNonNull(fileName, "fileName");
    }
}
