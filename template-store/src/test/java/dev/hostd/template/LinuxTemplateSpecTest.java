package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.snapshot.MachineState;
import dev.hostd.vmm.snapshot.MemoryState;
import dev.hostd.vmm.snapshot.MicrovmState;
import dev.hostd.vmm.snapshot.VmState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A Linux template's inputs are checked field by field; a saved template's kind comes from its state. */
class LinuxTemplateSpecTest {
    @TempDir
    Path dir;

    private Path file(String name) throws IOException {
        return Files.write(dir.resolve(name), new byte[] {1, 2, 3});
    }

    private static String refused(Runnable r) {
        TemplateException e = assertThrows(TemplateException.class, r::run);
        assertEquals(TemplateException.Kind.INVALID_INPUT, e.kind(), e.getMessage());
        return e.getMessage();
    }

    @Test
    void eachBadFieldIsNamed() throws IOException {
        Path k = file("vmlinuz"), i = file("initramfs.cpio");
        assertEquals(256, new LinuxTemplateSpec("ok", k, i, 256, 2).memoryMiB());
        assertTrue(refused(() -> new LinuxTemplateSpec("ok", k, i, 256, 0)).startsWith("vcpus"));
        assertTrue(refused(() -> new LinuxTemplateSpec("ok", k, i, 256, 33)).contains("vcpus of a Linux template must be in 1..32"));
        assertTrue(refused(() -> new LinuxTemplateSpec("ok", k, i, 63, 1)).startsWith("memoryMiB"));
        assertTrue(refused(() -> new LinuxTemplateSpec("ok", k, i, 3329, 1)).contains("64..3328"));
        assertTrue(refused(() -> new LinuxTemplateSpec("ok", dir.resolve("none"), i, 256, 1)).startsWith("kernel"));
        assertTrue(refused(() -> new LinuxTemplateSpec("ok", null, i, 256, 1)).equals("kernel is missing"));
        assertTrue(refused(() -> new LinuxTemplateSpec("ok", dir, i, 256, 1)).contains("not a regular file"));
        assertTrue(refused(() -> new LinuxTemplateSpec("ok", k, dir.resolve("none"), 256, 1)).startsWith("initramfs"));
        assertTrue(refused(() -> new LinuxTemplateSpec("Bad Id", k, i, 256, 1)).contains("template id"));
        assertTrue(refused(() -> new LinuxTemplateSpec("ok", k, i, 256, 1, null)).startsWith("cmdline"));
    }

    @Test
    void guestKindsByLabel() {
        assertEquals(GuestKind.LINUX, GuestKind.parse("linux"));
        assertEquals(GuestKind.TEST_GUEST, GuestKind.parse("test-guest"));
        String message = refused(() -> GuestKind.parse("windows"));
        assertTrue(message.startsWith("guest 'windows'"), message);
    }

    private static MicrovmState state(String machineKind, Map<String, String> metadata) {
        return new MicrovmState(new MachineState(1, 2L << 20, false, machineKind), new MemoryState("memory", 2L << 20, 0),
                new VmState(new byte[0], null, null, null, null), List.of(), List.of(), metadata);
    }

    @Test
    void theKindOfASavedTemplateIsItsMachinesAndTheMetadataMustAgree() {
        assertEquals(GuestKind.TEST_GUEST, GuestKind.of(state("user-elf", Map.of())), "templates from before the metadata key");
        assertEquals(GuestKind.LINUX, GuestKind.of(state("linux", Map.of(GuestKind.META_KEY, "linux"))));
        TemplateException other = assertThrows(TemplateException.class, () -> GuestKind.of(state("wasm", Map.of())));
        assertEquals(TemplateException.Kind.CORRUPT, other.kind());
        assertTrue(other.getMessage().contains("'wasm'"), other.getMessage());
        TemplateException mixed = assertThrows(TemplateException.class,
                () -> GuestKind.of(state("linux", Map.of(GuestKind.META_KEY, "test-guest"))));
        assertEquals(TemplateException.Kind.CORRUPT, mixed.kind());
    }

    @Test
    void theTemplateIdentityIsValid() {
        assertEquals("basepoint", TemplateBuilder.TEMPLATE_IDENTITY.sandboxId());
        assertEquals("02:00:00:00:00:01", Identity.formatMac(TemplateBuilder.TEMPLATE_IDENTITY.mac()));
    }
}
