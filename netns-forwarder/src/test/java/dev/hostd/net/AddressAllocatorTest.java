package dev.hostd.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AddressAllocatorTest {
    static final TenantSpec SMALL = new TenantSpec("t", 1, Ipv4Cidr.parse("198.18.0.0/29"), Ipv4.parse("198.18.0.1"));

    @Test
    void handsOutEveryHostAddressButTheGatewayOnceThenFails() {
        AddressAllocator a = new AddressAllocator(SMALL, new Random(1));
        Set<Integer> ips = new HashSet<>();
        for (int i = 0; i < 5; i++) { // .2 .. .6: /29 has 6 host addresses, one is the gateway
            ips.add(a.allocate("s" + i).ipv4());
        }
        assertEquals(5, ips.size());
        assertTrue(ips.stream().allMatch(ip -> ip != SMALL.gateway() && SMALL.subnet().contains(ip)
                && ip != SMALL.subnet().network() && ip != SMALL.subnet().broadcast()));
        NetException e = assertThrows(NetException.class, () -> a.allocate("s5"));
        assertTrue(e.getMessage().contains("no free address"), e.getMessage());
    }

    @Test
    void aFreedAddressIsReusedOnlyAfterTheOthers() {
        AddressAllocator a = new AddressAllocator(SMALL, new Random(2));
        int first = a.allocate("a").ipv4();
        a.release("a");
        int second = a.allocate("b").ipv4();
        assertNotEquals(first, second, "the cursor walks on");
    }

    @Test
    void macsAreLocallyAdministeredUnicastAndUnique() {
        TenantSpec big = new TenantSpec("t", 1, Ipv4Cidr.parse("198.18.0.0/16"), Ipv4.parse("198.18.0.1"));
        AddressAllocator a = new AddressAllocator(big, new Random(3));
        Set<String> macs = new HashSet<>();
        for (int i = 0; i < 5000; i++) {
            Lease l = a.allocate("s" + i);
            assertEquals(2, l.mac()[0] & 3, l.macText());
            macs.add(l.macText());
        }
        assertEquals(5000, macs.size());
    }

    @Test
    void aSandboxHoldsOneLeaseAndClaimsAreChecked() {
        AddressAllocator a = new AddressAllocator(SMALL, new Random(4));
        Lease l = a.allocate("a");
        assertThrows(NetException.class, () -> a.allocate("a"));
        assertThrows(NetException.class, () -> a.claim("b", l.ipv4(), new byte[] {2, 0, 0, 0, 0, 9}), "address held");
        assertThrows(NetException.class, () -> a.claim("b", SMALL.gateway(), new byte[] {2, 0, 0, 0, 0, 9}), "the gateway");
        assertThrows(NetException.class, () -> a.claim("b", Ipv4.parse("198.18.1.2"), new byte[] {2, 0, 0, 0, 0, 9}), "outside the subnet");
        assertThrows(NetException.class, () -> a.claim("b", Ipv4.parse("198.18.0.5"), new byte[] {3, 0, 0, 0, 0, 9}), "multicast MAC");
        assertEquals(Ipv4.parse("198.18.0.5"), a.claim("b", Ipv4.parse("198.18.0.5"), new byte[] {2, 0, 0, 0, 0, 9}).ipv4());
        assertEquals(2, a.held());
        a.release("a");
        a.release("a");
        assertEquals(1, a.held());
    }
}
