package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.vmm.identity.Identity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;

/** Duplicate template ids and duplicate live identities are CONFLICT, and leave the holder untouched. */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // hang guard only
class ConflictIT {
    @RegisterExtension
    static final LiveWitness witness = new LiveWitness();

    @Test
    void aDuplicateTemplateIdIsAConflictAndKeepsTheFirst() {
        Template first = witness.store.get("witness");
        TemplateException e = assertThrows(TemplateException.class,
                () -> witness.store.build(new TemplateSpec("witness", TestGuestImage.bytes(), 32)));
        assertEquals(TemplateException.Kind.CONFLICT, e.kind());
        assertTrue(e.getMessage().contains("template 'witness' already exists"), e.getMessage());
        assertSame(first, witness.store.get("witness"));
        assertEquals(List.of("witness"), TestFiles.names(witness.store.directory()), "no build directory left");
        assertTrue(witness.store.verify("witness").ok());
        witness.assertAnswers();
    }

    @Test
    void duplicateLiveIdentitiesConflictAndAreFreeAgainAfterClose() throws Exception {
        Identity held = TestIdentities.number(500, "tenant-c");
        Sandbox holder = witness.cloner.clone(witness.template, held);
        int live = witness.cloner.liveCount();
        try {
            Identity other = TestIdentities.number(501, "tenant-c");
            Identity sameId = new Identity(other.mac(), other.ipv4(), 15, other.gateway(), "h", held.sandboxId(), "tenant-c");
            Identity sameMac = new Identity(held.mac(), other.ipv4(), 15, other.gateway(), "h", other.sandboxId(), "tenant-c");
            Identity sameIp = new Identity(other.mac(), held.ipv4(), 15, other.gateway(), "h", other.sandboxId(), "tenant-c");
            assertConflict(sameId, "sandbox id sbx-500 is already in use");
            assertConflict(sameMac, "MAC address " + Identity.formatMac(held.mac()) + " is already used by sandbox sbx-500");
            assertConflict(sameIp, "of tenant tenant-c is already used by sandbox sbx-500");
            assertEquals(live, witness.cloner.liveCount(), "refused clones hold nothing");
            // The holder is unharmed.
            AdoptIT.echo(holder);
            // The same address in another tenant is fine.
            Identity otherTenant = new Identity(other.mac(), held.ipv4(), 15, other.gateway(), "h", other.sandboxId(), "tenant-d");
            try (Sandbox s = witness.cloner.clone(witness.template, otherTenant)) {
                AdoptIT.echo(s);
            }
        } finally {
            holder.close();
        }
        assertEquals(live - 1, witness.cloner.liveCount());
        try (Sandbox again = witness.cloner.clone(witness.template, held)) {
            assertEquals("sbx-500", again.report().sandboxId());
            AdoptIT.echo(again);
        }
        witness.assertAnswers();
    }

    private static void assertConflict(Identity identity, String mustSay) {
        TemplateException e = assertThrows(TemplateException.class, () -> witness.cloner.clone(witness.template, identity));
        assertEquals(TemplateException.Kind.CONFLICT, e.kind());
        assertTrue(e.getMessage().contains(mustSay), e.getMessage());
    }
}
