package dev.hostd.bench;

import dev.hostd.vmm.identity.Identity;

/** Distinct identities for benchmark sandboxes. */
public final class BenchIdentities {
    private BenchIdentities() {}

    public static Identity number(int n) {
        byte[] mac = {0x02, 0x00, 0x00, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
        byte[] ip = {(byte) 198, (byte) (18 + ((n >> 16) & 1)), (byte) (n >> 8), (byte) n};
        return new Identity(mac, ip, 15, Identity.parseIpv4("198.18.0.1"), "sbx-" + n, "sbx-" + n, "bench");
    }
}
