package dev.hostd.vmm.agent;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The identity report of a HELLO frame (and of the {@code identity} function): the identity page
 * the guest applied, with the seed replaced by its SHA-256, plus the agent's version and how many
 * identities it has applied. Byte arrays are copied in and out.
 */
public record IdentityReport(long generation, byte[] mac, byte[] ipv4, int prefixLength, byte[] gateway,
                             String hostname, String sandboxId, String tenantId, byte[] seedSha256,
                             long wallClockNanos, int agentVersion, int identitiesSeen) {
    static final int PAGE_MAGIC = 0x54444948; // "HIDT"
    static final int PAGE_VERSION = 1;
    static final int PAGE_SIZE = 0x110;
    /** The identity page bytes, then {@code u32 agent_version} and {@code u32 identities_seen}. */
    public static final int SIZE = PAGE_SIZE + 8;
    public static final int AGENT_VERSION = 1;

    public IdentityReport {
        mac = mac.clone();
        ipv4 = ipv4.clone();
        gateway = gateway.clone();
        seedSha256 = seedSha256.clone();
    }

    @Override public byte[] mac() { return mac.clone(); }
    @Override public byte[] ipv4() { return ipv4.clone(); }
    @Override public byte[] gateway() { return gateway.clone(); }
    @Override public byte[] seedSha256() { return seedSha256.clone(); }

    /** Parses a HELLO payload strictly; {@link AgentProtocolException} names the first bad field. */
    public static IdentityReport parse(byte[] payload) {
        if (payload.length != SIZE) {
            throw bad("length", payload.length + " bytes, expected " + SIZE);
        }
        ByteBuffer b = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(0x000) != PAGE_MAGIC) throw bad("magic", String.format("%#010x", b.getInt(0)));
        int version = Short.toUnsignedInt(b.getShort(0x004));
        if (version != PAGE_VERSION) throw bad("version", String.valueOf(version));
        int size = Short.toUnsignedInt(b.getShort(0x006));
        if (size != PAGE_SIZE) throw bad("size", String.format("%#x", size));
        long generation = b.getLong(0x008);
        if (generation == 0) throw bad("generation", "0");
        int prefix = payload[0x01C] & 0xff;
        if (prefix > 32) throw bad("prefix_length", String.valueOf(prefix));
        int agentVersion = b.getInt(PAGE_SIZE);
        if (agentVersion != AGENT_VERSION) throw bad("agent_version", Integer.toUnsignedString(agentVersion));
        int seen = b.getInt(PAGE_SIZE + 4);
        if (seen <= 0) throw bad("identities_seen", Integer.toUnsignedString(seen));
        return new IdentityReport(generation, Arrays.copyOfRange(payload, 0x010, 0x016),
                Arrays.copyOfRange(payload, 0x018, 0x01C), prefix, Arrays.copyOfRange(payload, 0x020, 0x024),
                string(payload, 0x028, "hostname"), string(payload, 0x068, "sandbox_id"),
                string(payload, 0x0A8, "tenant_id"), Arrays.copyOfRange(payload, 0x0E8, 0x108),
                b.getLong(0x108), agentVersion, seen);
    }

    /** A NUL-terminated ASCII string in a 64-byte field. */
    private static String string(byte[] payload, int offset, String field) {
        for (int i = 0; i < 64; i++) {
            int c = payload[offset + i] & 0xff;
            if (c == 0) {
                return new String(payload, offset, i, StandardCharsets.US_ASCII);
            }
            if (c < 0x20 || c > 0x7e) {
                throw bad(field, "non-printable byte " + c + " at index " + i);
            }
        }
        throw bad(field, "no NUL terminator in 64 bytes");
    }

    private static AgentProtocolException bad(String field, String what) {
        return new AgentProtocolException("identity report: bad " + field + ": " + what);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IdentityReport r && generation == r.generation && Arrays.equals(mac, r.mac)
                && Arrays.equals(ipv4, r.ipv4) && prefixLength == r.prefixLength && Arrays.equals(gateway, r.gateway)
                && hostname.equals(r.hostname) && sandboxId.equals(r.sandboxId) && tenantId.equals(r.tenantId)
                && Arrays.equals(seedSha256, r.seedSha256) && wallClockNanos == r.wallClockNanos
                && agentVersion == r.agentVersion && identitiesSeen == r.identitiesSeen;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(generation) * 31 + Arrays.hashCode(seedSha256);
    }

    @Override
    public String toString() {
        HexFormat hex = HexFormat.ofDelimiter(":");
        return "IdentityReport[generation=" + generation + ", mac=" + hex.formatHex(mac) + ", ipv4="
                + (ipv4[0] & 0xff) + "." + (ipv4[1] & 0xff) + "." + (ipv4[2] & 0xff) + "." + (ipv4[3] & 0xff) + "/"
                + prefixLength + ", hostname=" + hostname + ", sandboxId=" + sandboxId + ", tenantId=" + tenantId
                + ", agentVersion=" + agentVersion + ", identitiesSeen=" + identitiesSeen + "]";
    }
}
