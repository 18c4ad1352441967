package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.identity.Identity;
import org.junit.jupiter.api.Test;

/** At most one live sandbox per sandbox id, per MAC, and per IPv4 address within a tenant. */
class IdentityRegistryTest {
    final IdentityRegistry registry = new IdentityRegistry();

    static Identity with(String sandboxId, String mac, String ip, String tenant) {
        return new Identity(Identity.parseMac(mac), Identity.parseIpv4(ip), 24, Identity.parseIpv4("10.0.0.1"), "h", sandboxId, tenant);
    }

    void assertConflict(Identity identity, String mustSay) {
        TemplateException e = assertThrows(TemplateException.class, () -> registry.reserve(identity));
        assertEquals(TemplateException.Kind.CONFLICT, e.kind());
        assertTrue(e.getMessage().contains(mustSay), e.getMessage());
    }

    @Test
    void duplicatesConflictAndAreFreeAgainAfterRelease() {
        Identity a = with("a", "02:00:00:00:00:0a", "10.0.0.10", "t1");
        registry.reserve(a);
        assertConflict(with("a", "02:00:00:00:00:0b", "10.0.0.11", "t1"), "sandbox id a is already in use");
        assertConflict(with("b", "02:00:00:00:00:0a", "10.0.0.11", "t1"), "MAC address 02:00:00:00:00:0a is already used by sandbox a");
        assertConflict(with("b", "02:00:00:00:00:0b", "10.0.0.10", "t1"), "IPv4 address 10.0.0.10 of tenant t1 is already used by sandbox a");
        assertEquals(1, registry.size(), "a refused reservation holds nothing");

        Identity sameIpOtherTenant = with("b", "02:00:00:00:00:0b", "10.0.0.10", "t2");
        assertDoesNotThrow(() -> registry.reserve(sameIpOtherTenant), "tenants have their own address spaces");
        registry.release(a);
        assertDoesNotThrow(() -> registry.reserve(with("a", "02:00:00:00:00:0a", "10.0.0.10", "t1")));
        assertEquals(2, registry.size());
    }
}
