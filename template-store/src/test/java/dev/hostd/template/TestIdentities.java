package dev.hostd.template;

import dev.hostd.vmm.identity.Identity;

/** Distinct, valid identities for tests: sandbox n gets MAC 02:00:00:xx:xx:xx and 198.18.x.y. */
final class TestIdentities {
    private TestIdentities() {}

    static Identity number(int n) {
        return number(n, "tenant-a");
    }

    static Identity number(int n, String tenant) {
        byte[] mac = {0x02, 0x00, 0x00, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
        byte[] ip = {(byte) 198, (byte) (18 + ((n >> 16) & 1)), (byte) (n >> 8), (byte) n};
        return new Identity(mac, ip, 15, Identity.parseIpv4("198.18.0.1"), "sbx-" + n, "sbx-" + n, tenant);
    }
}
