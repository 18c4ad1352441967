package dev.hostd.vmm.loader;

import dev.hostd.vmm.memory.GuestMemory;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Loads a user-mode test guest: copies its PT_LOAD segments into guest RAM at their addresses.
 * The boot state (page tables, GDT, registers) is {@link UserModeBoot}'s job.
 */
public final class UserModeElfLoader {
    private UserModeElfLoader() {}

    /** Loads {@code file} into {@code memory}; returns where it went. */
    public static LoadedImage load(GuestMemory memory, byte[] file) {
        ElfImage image = ElfImage.parse(file);
        long ramLimit = Math.min(memory.size(), GuestLayout.MAX_USER_MODE_RAM);
        for (ElfImage.Segment s : image.segments()) {
            if (s.address() < GuestLayout.IMAGE_MIN || s.end() > ramLimit) {
                throw ElfImage.invalid(String.format("segment [%#x, %#x) is outside guest RAM [%#x, %#x)",
                        s.address(), s.end(), GuestLayout.IMAGE_MIN, ramLimit));
            }
        }
        if (image.end() >= ramLimit) {
            throw ElfImage.invalid("image leaves no free memory in " + (ramLimit >> 20) + " MiB of guest RAM");
        }
        for (ElfImage.Segment s : image.segments()) {
            MemorySegment target = memory.slice(s.address(), s.memorySize());
            MemorySegment.copy(file, (int) s.fileOffset(), target, ValueLayout.JAVA_BYTE, 0, (int) s.fileSize());
            target.asSlice(s.fileSize()).fill((byte) 0);
        }
        return new LoadedImage(image.entry(), image.end());
    }

    /** Where a loaded image starts running, and the first free page after it. */
    public record LoadedImage(long entry, long heapStart) {}
}
