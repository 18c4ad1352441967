package dev.hostd.vmm.identity;

import dev.hostd.vmm.loader.GuestLayout;
import dev.hostd.vmm.memory.GuestMemory;
import java.nio.charset.StandardCharsets;

/**
 * Writes the identity page (docs/guest-abi.md) into a VM's private memory. The generation is
 * written last, so a guest that polls the page never sees a new generation with old fields.
 */
public final class IdentityPage {
    public static final int MAGIC = 0x54444948; // "HIDT"
    public static final int VERSION = 1;
    public static final int SIZE = 0x110;
    public static final int SEED_BYTES = 32;
    static final int GENERATION = 0x008, MAC = 0x010, IPV4 = 0x018, PREFIX = 0x01C, GATEWAY = 0x020,
            HOSTNAME = 0x028, SANDBOX_ID = 0x068, TENANT_ID = 0x0A8, SEED = 0x0E8, WALL_CLOCK = 0x108;
    private static final int STRING_FIELD = 64;

    private IdentityPage() {}

    /** Writes the page at the test guest's fixed address ({@link GuestLayout#IDENTITY_PAGE}). */
    public static void write(GuestMemory memory, Identity identity, long generation, byte[] seed, long wallClockNanos) {
        write(memory, GuestLayout.IDENTITY_PAGE, identity, generation, seed, wallClockNanos);
    }

    /** Writes the page at guest-physical {@code at} (a Linux guest's is LinuxLayout.IDENTITY_PAGE). */
    public static void write(GuestMemory memory, long at, Identity identity, long generation, byte[] seed, long wallClockNanos) {
        if (generation == 0) {
            throw new IllegalArgumentException("identity generation 0 means 'none yet' to the guest");
        }
        if (seed.length != SEED_BYTES) {
            throw new IllegalArgumentException("random seed must be " + SEED_BYTES + " bytes");
        }
        memory.slice(at, SIZE).fill((byte) 0);
        memory.writeU32(at, MAGIC);
        memory.writeU16(at + 4, VERSION);
        memory.writeU16(at + 6, SIZE);
        memory.write(at + MAC, identity.mac(), 0, 6);
        memory.write(at + IPV4, identity.ipv4(), 0, 4);
        memory.writeU8(at + PREFIX, (byte) identity.prefixLength());
        memory.write(at + GATEWAY, identity.gateway(), 0, 4);
        writeString(memory, at + HOSTNAME, identity.hostname());
        writeString(memory, at + SANDBOX_ID, identity.sandboxId());
        writeString(memory, at + TENANT_ID, identity.tenantId());
        memory.write(at + SEED, seed, 0, SEED_BYTES);
        memory.writeU64(at + WALL_CLOCK, wallClockNanos);
        memory.writeU64(at + GENERATION, generation);
    }

    /** The generation currently in the page (0 if never written). */
    public static long generation(GuestMemory memory) {
        return generation(memory, GuestLayout.IDENTITY_PAGE);
    }

    /** The generation in the page at {@code at} (0 if never written). */
    public static long generation(GuestMemory memory, long at) {
        return memory.readU32(at) == MAGIC ? memory.readU64(at + GENERATION) : 0;
    }

    private static void writeString(GuestMemory memory, long at, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
        memory.write(at, bytes, 0, Math.min(bytes.length, STRING_FIELD - 1));
    }
}
