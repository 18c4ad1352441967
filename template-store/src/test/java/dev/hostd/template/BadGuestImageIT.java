package dev.hostd.template;

import dev.hostd.vmm.testing.TinyGuests;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.guest.TestGuestImage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Guest images that cannot become a template: each build fails with a message that says why,
 * leaves neither a template nor a build directory behind, and harms no live sandbox.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // hang guard only
class BadGuestImageIT {
    /**
     * Short: only the guest that never says hello waits this long. Still seconds, not less: within it the
     * crashing guests must crash and the silent one must print, each after its vCPU thread got a CPU, which
     * on a loaded host can take a while.
     */
    static final Duration SHORT_READY = Duration.ofSeconds(5);
    @RegisterExtension
    static final LiveWitness witness = new LiveWitness();
    static Path root;
    static Path work;
    static TemplateStore store;
    static byte[] tinyGood;

    @BeforeAll
    static void start() throws Exception {
        root = Files.createTempDirectory("hostd-badimage-");
        work = Files.createTempDirectory("hostd-badimage-src-");
        // The bystander is a real guest: built with the usual wait for its HELLO, then adopted by the impatient store.
        try (TemplateStore patient = TemplateStore.open(root, witness.kvm, LiveWitness.WAIT)) {
            patient.build(new TemplateSpec("bystander", TestGuestImage.bytes(), 16));
        }
        store = TemplateStore.open(root, witness.kvm, SHORT_READY);
        assertEquals(List.of("bystander"), store.list().stream().map(Template::id).toList(), "the bystander was adopted");
        tinyGood = TinyGuests.build(work, "park", TinyGuests.PARK_FOREVER);
    }

    @AfterAll
    static void stop() throws Exception {
        try {
        } finally {
            if (store != null) {
                store.close();
            }
            TestFiles.deleteTree(root);
            TestFiles.deleteTree(work);
        }
    }

    @AfterEach
    void nothingLeftBehindAndOthersUnharmed() {
        assertEquals(List.of("bystander"), TestFiles.names(store.directory()), "no template or .build-* directory left behind");
        assertEquals(List.of("bystander"), store.list().stream().map(Template::id).toList());
        assertTrue(store.verify("bystander").ok());
        witness.assertAnswers();
    }

    static Stream<Arguments> malformedImages() {
        return Stream.of(
                image("random-bytes", () -> {
                    byte[] b = new byte[4096];
                    new Random(1).nextBytes(b);
                    b[0] = 0x12;
                    return b;
                }, "not an ELF file"),
                image("text-file", () -> "#!/bin/sh\necho this is a shell script, not a guest\n".getBytes(StandardCharsets.UTF_8), "not an ELF file"),
                image("elf-magic-only", () -> new byte[] {0x7F, 'E', 'L', 'F'}, "not an ELF file"),
                image("elf32", () -> patched(b -> b.put(4, (byte) 1)), "not a 64-bit little-endian ELF (class 1"),
                image("big-endian", () -> patched(b -> b.put(5, (byte) 2)), "not a 64-bit little-endian ELF"),
                image("shared-object", () -> patched(b -> b.putShort(16, (short) 3)), "is not ET_EXEC"),
                image("arm64", () -> patched(b -> b.putShort(18, (short) 183)), "is not x86-64"),
                image("phdrs-past-end", () -> patched(b -> b.putLong(32, b.capacity() - 20)), "runs past the end"),
                image("phdrs-offset-huge", () -> patched(b -> b.putLong(32, Long.MAX_VALUE - 3)), "runs past the end"),
                image("no-phdrs", () -> patched(b -> b.putShort(56, (short) 0)), "program header table has 0 entries"),
                image("segment-past-file", () -> patched(b -> b.putLong(firstPhdr(b) + 32, b.capacity() * 4L)), "do not fit the file"),
                image("entry-outside", () -> patched(b -> b.putLong(24, 0x7000_0000L)), "lies in no loadable segment"));
    }

    private static Arguments image(String name, Supplier<byte[]> bytes, String reason) {
        return Arguments.of(name, bytes, reason);
    }

    /** The tiny parking guest with one field changed. */
    private static byte[] patched(java.util.function.Consumer<ByteBuffer> change) {
        byte[] copy = tinyGood.clone();
        change.accept(ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN));
        return copy;
    }

    private static int firstPhdr(ByteBuffer b) {
        return (int) b.getLong(32);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedImages")
    void aMalformedImageIsInvalidInputNamingTheProblem(String name, Supplier<byte[]> bytes, String reason) {
        assertInvalid(name, bytes.get(), 16, reason);
    }

    @Test
    void anEmptyImageIsRefusedByTheSpec() {
        TemplateException e = assertThrows(TemplateException.class, () -> new TemplateSpec("empty", new byte[0], 16));
        assertEquals(TemplateException.Kind.INVALID_INPUT, e.kind());
        assertTrue(e.getMessage().contains("guest image is empty"), e.getMessage());
    }

    @Test
    void anImageLinkedBelowOneMiBIsRefused() throws Exception {
        byte[] low = TinyGuests.build(work, "low", TinyGuests.PARK_FOREVER, "-Wl,-Ttext-segment=0x10000");
        assertInvalid("linked-low", low, 16, "is outside guest RAM [0x100000");
    }

    @Test
    void anImageBiggerThanTheTemplateRamIsRefused() throws Exception {
        // 24 MiB of .bss: fine as an ELF, too big for a 16 MiB machine.
        byte[] big = TinyGuests.build(work, "big", TinyGuests.PARK_FOREVER + "\n.bss\n.skip 24 << 20");
        assertInvalid("too-big", big, 16, "is outside guest RAM");
        // ... and one that fits exactly up to the end of RAM leaves no heap.
        byte[] full = TinyGuests.build(work, "full", TinyGuests.PARK_FOREVER + "\n.bss\n.skip (15 << 20) - 0x2000");
        assertInvalid("no-heap", full, 16, "leaves no free memory");
    }

    @Test
    void aValidElfThatIsNoAgentTimesOutWithTheConsoleTail() throws Exception {
        byte[] silent = TinyGuests.build(work, "silent", TinyGuests.print("tiny guest: parking forever\n") + TinyGuests.PARK_FOREVER);
        TemplateException e = assertThrows(TemplateException.class, () -> store.build(new TemplateSpec("silent", silent, 16)));
        assertEquals(TemplateException.Kind.TIMEOUT, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("did not say hello"), e.getMessage());
        assertTrue(e.getMessage().contains("tiny guest: parking forever"), "console tail in: " + e.getMessage());
        assertTrue(e.getMessage().contains("'silent'"), e.getMessage());
    }

    @Test
    void aGuestThatTripleFaultsIsAGuestFailureWithTheConsoleTail() throws Exception {
        byte[] crash = TinyGuests.build(work, "crash", TinyGuests.print("tiny guest: about to crash\n") + "  ud2");
        TemplateException e = assertThrows(TemplateException.class, () -> store.build(new TemplateSpec("crash", crash, 16)));
        assertEquals(TemplateException.Kind.GUEST_FAILURE, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("triple fault"), e.getMessage());
        assertTrue(e.getMessage().contains("tiny guest: about to crash"), "console tail in: " + e.getMessage());
    }

    @Test
    void aGuestThatPanicsIsAGuestFailureWithItsCode() throws Exception {
        byte[] panic = TinyGuests.build(work, "panic", TinyGuests.print("tiny guest: giving up\n")
                + "  mov $0x511, %dx\n  mov $77, %eax\n  out %eax, %dx\n1: jmp 1b");
        TemplateException e = assertThrows(TemplateException.class, () -> store.build(new TemplateSpec("panic", panic, 16)));
        assertEquals(TemplateException.Kind.GUEST_FAILURE, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("code 77"), e.getMessage());
        assertTrue(e.getMessage().contains("tiny guest: giving up"), e.getMessage());
    }

    private static void assertInvalid(String id, byte[] image, int memoryMiB, String reason) {
        TemplateException e = assertThrows(TemplateException.class, () -> store.build(new TemplateSpec(id, image, memoryMiB)));
        assertEquals(TemplateException.Kind.INVALID_INPUT, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("guest image is not usable"), e.getMessage());
        assertTrue(e.getMessage().contains(reason), "'" + e.getMessage() + "' should say '" + reason + "'");
        assertTrue(e.getMessage().contains("'" + id + "'"), "names the template: " + e.getMessage());
    }
}
