package dev.hostd.vmm.loader.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hostd.vmm.VmmException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real guest kernel: Debian's linux-image-cloud-amd64, fetched by scripts/fetch-guest-kernel
 * (a no-op when it is cached). Skipped, with the script's output as the reason, where apt cannot get it.
 */
class DebianBzImageTest {
    private static Path vmlinuz;
    private static byte[] file;

    @BeforeAll
    static void fetch() throws IOException, InterruptedException {
        Path script = Path.of("..", "scripts", "fetch-guest-kernel").toAbsolutePath().normalize();
        assumeTrue(Files.isExecutable(script), "no " + script);
        Process process = new ProcessBuilder(script.toString()).redirectError(ProcessBuilder.Redirect.PIPE).start();
        String out = new String(process.getInputStream().readAllBytes()).strip();
        String err = new String(process.getErrorStream().readAllBytes()).strip();
        boolean done = process.waitFor(300, TimeUnit.SECONDS);
        assumeTrue(done && process.exitValue() == 0,
                "scripts/fetch-guest-kernel could not fetch Debian's cloud kernel with apt: " + err);
        vmlinuz = Path.of(out);
        file = Files.readAllBytes(vmlinuz);
    }

    @Test
    void theDebianCloudKernelParsesAsA64BitRelocatableBzImage() {
        BzImage image = BzImage.parse(file);
        assertTrue(image.protocolVersion() >= 0x020F, "Debian 12's kernel 6.1 speaks protocol 2.15, got "
                + BzImage.versionText(image.protocolVersion()));
        assertTrue((image.xloadflags() & ZeroPage.XLF_KERNEL_64) != 0, "64-bit entry");
        assertTrue(image.relocatable(), "relocatable");
        assertEquals(0x100_0000, image.prefAddress(), "CONFIG_PHYSICAL_START 16 MiB");
        assertEquals(0x20_0000, image.kernelAlignment(), "CONFIG_PHYSICAL_ALIGN 2 MiB");
        assertEquals(2047, image.cmdlineSize());
        assertTrue(image.initSize() > image.kernelSize(), "decompression needs more than the compressed image");
        assertTrue(image.kernelOffset() + image.kernelSize() <= file.length);
        long load = image.loadAddress(256L << 20);
        assertEquals(0x100_0000 + 0x200, image.entry64(load));
    }

    /** The payload is the compressed vmlinux, in the format the kernel's config says (LZ4 for this kernel). */
    @Test
    void thePayloadIsTheCompressedKernelNamedByTheConfig() throws IOException {
        BzImage image = BzImage.parse(file);
        String release = vmlinuz.getFileName().toString().substring("vmlinuz-".length());
        Path config = vmlinuz.resolveSibling("config-" + release);
        assumeTrue(Files.exists(config), "the package has no " + config);
        String compression = Files.readAllLines(config).stream()
                .filter(l -> l.matches("CONFIG_KERNEL_[A-Z0-9]+=y")).findFirst().orElseThrow();
        byte[] magic = switch (compression) {
            case "CONFIG_KERNEL_LZ4=y" -> HexFormat.of().parseHex("02214c18"); // LZ4 legacy frame
            case "CONFIG_KERNEL_GZIP=y" -> HexFormat.of().parseHex("1f8b");
            case "CONFIG_KERNEL_XZ=y" -> HexFormat.of().parseHex("fd377a585a00");
            case "CONFIG_KERNEL_ZSTD=y" -> HexFormat.of().parseHex("28b52ffd");
            default -> throw new AssertionError("unexpected compression " + compression);
        };
        int at = (int) image.payloadFileOffset();
        assertArrayEquals(magic, Arrays.copyOfRange(file, at, at + magic.length), compression + " payload magic");
    }

    /**
     * The vmlinux inside the bzImage (the payload minus its trailing uncompressed-size word, LZ4 per
     * the config test above) carries the PVH entry note; the entry lies in its first, executable segment.
     */
    @Test
    void theDecompressedVmlinuxHasAPvhEntry(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/lz4")), "no /usr/bin/lz4 (Debian lz4, installed by scripts/setup)");
        BzImage image = BzImage.parse(file);
        int at = (int) image.payloadFileOffset();
        int compressedEnd = (int) (at + image.payloadLength() - 4);
        Path compressed = dir.resolve("payload.lz4");
        Path vmlinux = dir.resolve("vmlinux");
        Files.write(compressed, Arrays.copyOfRange(file, at, compressedEnd));
        Process lz4 = new ProcessBuilder("lz4", "-dc", compressed.toString()).redirectOutput(vmlinux.toFile())
                .redirectError(ProcessBuilder.Redirect.PIPE).start();
        String err = new String(lz4.getErrorStream().readAllBytes());
        assertTrue(lz4.waitFor(120, TimeUnit.SECONDS), "lz4 timed out");
        assertEquals(0, lz4.exitValue(), "lz4 -dc failed (is the payload LZ4?): " + err);
        byte[] elf = Files.readAllBytes(vmlinux);
        long declared = Integer.toUnsignedLong(ByteBuffer.wrap(file, compressedEnd, 4).order(ByteOrder.LITTLE_ENDIAN).getInt());
        assertEquals(declared, elf.length, "the payload's trailing word is the vmlinux size");

        OptionalLong entry = PvhNote.find(elf);
        assertTrue(entry.isPresent(), "CONFIG_PVH=y: the vmlinux has XEN_ELFNOTE_PHYS32_ENTRY");
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        int phdr = (int) b.getLong(32); // the first program header is the text PT_LOAD
        assertEquals(1, b.getInt(phdr), "PT_LOAD");
        long physStart = b.getLong(phdr + 24), physEnd = physStart + b.getLong(phdr + 40); // p_paddr, p_memsz
        assertTrue(entry.getAsLong() >= physStart && entry.getAsLong() < physEnd, "PVH entry 0x"
                + Long.toHexString(entry.getAsLong()) + " lies in the kernel text [0x" + Long.toHexString(physStart)
                + ", 0x" + Long.toHexString(physEnd) + ")");
    }

    /** Our Java extraction gives the same ELF as the lz4 tool, and it loads through PVH at 16 MiB. */
    @Test
    void vmlinuxExtractedInJavaIsTheKernelElfWithItsPvhEntry(@TempDir Path dir) throws Exception {
        byte[] elf = Vmlinux.extract(file);
        BzImage image = BzImage.parse(file);
        int end = (int) (image.payloadFileOffset() + image.payloadLength());
        assertEquals(Integer.toUnsignedLong(ByteBuffer.wrap(file, end - 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt()), elf.length,
                "the size the payload declares");
        assertArrayEquals(new byte[] {0x7F, 'E', 'L', 'F', 2, 1}, Arrays.copyOf(elf, 6), "ELF64 little-endian");
        assertEquals(62, ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN).getShort(18), "EM_X86_64");
        PvhKernel kernel = PvhKernel.parse(elf);
        assertEquals(PvhNote.find(elf).orElseThrow(), kernel.pvhEntry());
        assertEquals(0x100_0000, kernel.segments().getFirst().physical(), "CONFIG_PHYSICAL_START: text at 16 MiB");
        assertTrue(kernel.end() < 128L << 20, "fits a 128 MiB guest: ends at 0x" + Long.toHexString(kernel.end()));

        if (Files.isExecutable(Path.of("/usr/bin/lz4"))) {
            Path compressed = dir.resolve("payload.lz4");
            Files.write(compressed, Arrays.copyOfRange(file, (int) image.payloadFileOffset(), end - 4));
            Process lz4 = new ProcessBuilder("lz4", "-dc", compressed.toString()).redirectOutput(dir.resolve("vmlinux").toFile()).start();
            assertTrue(lz4.waitFor(120, TimeUnit.SECONDS) && lz4.exitValue() == 0, "lz4 -dc");
            assertArrayEquals(Files.readAllBytes(dir.resolve("vmlinux")), elf, "the same bytes as lz4 -dc");
        }
    }

    @Test
    void aDamagedPayloadIsRefusedWithTheReason() {
        BzImage image = BzImage.parse(file);
        int at = (int) image.payloadFileOffset();
        int end = (int) (at + image.payloadLength());

        byte[] gzip = file.clone();
        gzip[at] = 0x1F;
        gzip[at + 1] = (byte) 0x8B;
        VmmException e = assertThrows(VmmException.class, () -> Vmlinux.extract(gzip));
        assertTrue(e.getMessage().contains("the payload is gzip-compressed; only LZ4"), e.getMessage());

        byte[] wrongSize = file.clone();
        ByteBuffer.wrap(wrongSize).order(ByteOrder.LITTLE_ENDIAN).putInt(end - 4, 1 << 20);
        e = assertThrows(VmmException.class, () -> Vmlinux.extract(wrongSize));
        assertTrue(e.getMessage().contains("more than the 1048576 bytes left of the expected 1048576"),
                "the declared size bounds the output: " + e.getMessage());

        byte[] corrupt = file.clone();
        for (int i = at + 4 + 4; i < at + 4 + 4 + 64; i++) {
            corrupt[i] = (byte) 0xFF; // the first block's first sequences: lengths that run past the block
        }
        e = assertThrows(VmmException.class, () -> Vmlinux.extract(corrupt));
        assertTrue(e.getMessage().contains("block 0") && e.getMessage().contains("not a valid LZ4 block"), e.getMessage());
    }

    @Test
    void itsZeroPageCarriesItsOwnSetupHeader() {
        BzImage image = BzImage.parse(file);
        byte[] page = BootParams.build(image, new BootParams.Settings(E820Map.forGuest(256L << 20, 0xD000_0000L),
                0x20000, 10, 0, 0, 0));
        int end = 0x202 + Byte.toUnsignedInt(file[0x201]);
        assertArrayEquals(Arrays.copyOfRange(file, 0x1f1, 0x210), Arrays.copyOfRange(page, 0x1f1, 0x210));
        assertArrayEquals(Arrays.copyOfRange(file, 0x230, end), Arrays.copyOfRange(page, 0x230, end),
                "fields from kernel_alignment on are the kernel's");
    }
}
