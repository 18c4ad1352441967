package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.identity.Identity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Bad template specs and identities are refused before anything runs, with a message naming the field. */
class SpecAndIdentityValidationTest {
    static final byte[] IMAGE = {0x7F, 'E', 'L', 'F'};

    @ParameterizedTest
    @ValueSource(strings = {"", "Upper", "-leading-dash", ".hidden", ".build-x", "has space", "a/b", "../up", "tab\t",
            "ünïcode", "0123456789012345678901234567890123456789012345678901234567890123"})
    void badTemplateIdsAreInvalidInput(String id) {
        TemplateException e = assertThrows(TemplateException.class, () -> new TemplateSpec(id, IMAGE, 16));
        assertEquals(TemplateException.Kind.INVALID_INPUT, e.kind());
        assertTrue(e.getMessage().contains("template id '" + id + "'"), e.getMessage());
    }

    @Test
    void aNullIdIsInvalidInput() {
        assertEquals(TemplateException.Kind.INVALID_INPUT, assertThrows(TemplateException.class, () -> new TemplateSpec(null, IMAGE, 16)).kind());
    }

    @Test
    void goodTemplateIds() {
        for (String id : new String[] {"a", "0", "python3.12-slim", "x_y", "012345678901234567890123456789012345678901234567890123456789012"}) {
            assertDoesNotThrow(() -> new TemplateSpec(id, IMAGE, 16), id);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {Integer.MIN_VALUE, -2, 0, 2, 6, 7, 9, 17, 1023, 1025, 1026, 4096, Integer.MAX_VALUE})
    void memoryOutOfRangeOrOddIsInvalidInput(int memoryMiB) {
        TemplateException e = assertThrows(TemplateException.class, () -> new TemplateSpec("t", IMAGE, memoryMiB));
        assertEquals(TemplateException.Kind.INVALID_INPUT, e.kind());
        assertTrue(e.getMessage().contains("even number of MiB in 8..1024, got " + memoryMiB), e.getMessage());
    }

    @Test
    void memoryBoundsAreAccepted() {
        assertDoesNotThrow(() -> new TemplateSpec("t", IMAGE, 8));
        assertDoesNotThrow(() -> new TemplateSpec("t", IMAGE, 1024));
    }

    @Test
    void aNullImageIsInvalidInput() {
        TemplateException e = assertThrows(TemplateException.class, () -> new TemplateSpec("t", null, 16));
        assertEquals(TemplateException.Kind.INVALID_INPUT, e.kind());
        assertTrue(e.getMessage().contains("guest image is empty"), e.getMessage());
    }

    // --- identities: validated by vmm-bridge's Identity on construction ---

    static Identity identity(String mac, int prefix, String hostname, String sandboxId, String tenantId) {
        return new Identity(Identity.parseMac(mac), Identity.parseIpv4("198.18.0.5"), prefix, Identity.parseIpv4("198.18.0.1"),
                hostname, sandboxId, tenantId);
    }

    static void assertRefused(String mustSay, Runnable make) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, make::run);
        assertTrue(e.getMessage().contains(mustSay), "'" + e.getMessage() + "' should say '" + mustSay + "'");
        // What the API sees once the engine reports it: INVALID_INPUT.
        assertEquals(TemplateException.Kind.INVALID_INPUT, Errors.wrap("cloning", e).kind());
    }

    @Test
    void aMulticastMacIsRefused() {
        assertRefused("is multicast", () -> identity("01:00:5e:00:00:01", 24, "h", "s", "t"));
        assertRefused("is multicast", () -> identity("ff:ff:ff:ff:ff:ff", 24, "h", "s", "t"));
        assertRefused("not six colon-separated", () -> identity("02:00:00:00:01", 24, "h", "s", "t"));
        assertRefused("bad byte 'zz'", () -> identity("02:00:00:00:01:zz", 24, "h", "s", "t"));
        assertRefused("MAC address must be 6 bytes", () -> new Identity(new byte[5], new byte[4], 24, new byte[4], "h", "s", "t"));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 33, -1, 128})
    void aPrefixOutsideOneToThirtyTwoIsRefused(int prefix) {
        assertRefused("prefix length must be 1..32, got " + prefix, () -> identity("02:00:00:00:00:05", prefix, "h", "s", "t"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "under_score", "-dash", "dash-", "a..b", "trailing.", "sp ace", "ümlaut",
            "0123456789012345678901234567890123456789012345678901234567890123"})
    void aBadHostnameIsRefused(String hostname) {
        assertRefused("hostname '" + hostname + "'", () -> identity("02:00:00:00:00:05", 24, hostname, "s", "t"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "-x", "a/b", "has space", "0123456789012345678901234567890123456789012345678901234567890123"})
    void badSandboxAndTenantIdsAreRefused(String id) {
        assertRefused("sandbox id '" + id + "'", () -> identity("02:00:00:00:00:05", 24, "h", id, "t"));
        assertRefused("tenant id '" + id + "'", () -> identity("02:00:00:00:00:05", 24, "h", "s", id));
    }

    @Test
    void badIpv4TextIsRefused() {
        for (String ip : new String[] {"256.0.0.1", "1.2.3", "01.2.3.4", "1.2.3.4.5", "a.b.c.d", "1.2.3.-4"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Identity.parseIpv4(ip), ip);
            assertTrue(e.getMessage().contains("'" + ip + "'"), e.getMessage());
        }
    }

    @Test
    void engineErrorsMapToTheKindsTheApiNeeds() {
        assertEquals(TemplateException.Kind.HOST_UNAVAILABLE,
                Errors.wrap("x", new VmmException(VmmException.Kind.KVM_UNAVAILABLE, "open /dev/kvm", "no kvm")).kind());
        assertEquals(TemplateException.Kind.HOST_UNAVAILABLE,
                Errors.wrap("x", VmmException.fromErrno("KVM_CREATE_VM", 24)).kind());
        assertTrue(Errors.wrap("x", VmmException.fromErrno("KVM_CREATE_VM", 24)).getMessage().contains("EMFILE"));
        TemplateException inner = new TemplateException(TemplateException.Kind.TIMEOUT, "slow");
        TemplateException outer = Errors.wrap("building template 't' failed", inner);
        assertEquals(TemplateException.Kind.TIMEOUT, outer.kind());
        assertEquals("building template 't' failed: slow", outer.getMessage());
        assertEquals(outer, Errors.wrap("building template 't' failed", outer), "said once, not twice");
    }
}
