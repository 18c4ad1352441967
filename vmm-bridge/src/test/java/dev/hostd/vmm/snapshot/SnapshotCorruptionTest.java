package dev.hostd.vmm.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Damage a small valid snapshot in every way a disk or a copy can, and require every one to be caught. */
class SnapshotCorruptionTest {
    @TempDir
    Path dir;
    Path file;
    byte[] good;

    @BeforeEach
    void writeSmallSnapshot() throws IOException {
        file = dir.resolve("small.snap");
        SnapshotFile.write(file, Fixtures.small());
        good = Files.readAllBytes(file);
        assertTrue(good.length > 5000 && good.length < 8000, "small snapshot is " + good.length + " bytes");
    }

    @Test
    void flippingAnyByteIsDetected() throws IOException {
        for (int i = 0; i < good.length; i++) {
            byte[] bad = good.clone();
            bad[i] ^= (byte) 0xff;
            Files.write(file, bad);
            SnapshotFormatException e = expectRefused("byte " + i + " flipped");
            if (i < SnapshotHeader.SIZE) {
                assertThrows(SnapshotFormatException.class, () -> SnapshotFile.inspect(file),
                        "inspect with header byte " + i + " flipped");
            } else {
                assertTrue(e.getMessage().contains("corrupt: body checksum mismatch"), e.getMessage());
                assertFalse(SnapshotFile.inspect(file).checksumValid(), "inspect with body byte " + i + " flipped");
            }
        }
    }

    @Test
    void flippingAnySingleHeaderBitIsDetected() throws IOException {
        for (int bit = 0; bit < SnapshotHeader.SIZE * 8; bit++) {
            byte[] bad = good.clone();
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
            Files.write(file, bad);
            expectRefused("header bit " + bit + " flipped");
        }
    }

    @Test
    void flippingOneBitInEveryBodyByteIsDetected() throws IOException {
        for (int i = SnapshotHeader.SIZE; i < good.length; i++) {
            byte[] bad = good.clone();
            bad[i] ^= (byte) (1 << (i % 8));
            Files.write(file, bad);
            expectRefused("bit " + (i % 8) + " of byte " + i + " flipped");
        }
    }

    @Test
    void truncationAtEveryLengthIsDetected() throws IOException {
        long bodyLength = good.length - SnapshotHeader.SIZE;
        for (int n = 0; n < good.length; n++) {
            Files.write(file, Arrays.copyOf(good, n));
            SnapshotFormatException e = expectRefused("truncated to " + n + " bytes");
            if (n >= SnapshotHeader.SIZE) {
                assertTrue(e.problem().equals("truncated: header promises " + bodyLength + " body bytes, file has "
                        + (n - SnapshotHeader.SIZE)), e.getMessage());
                SnapshotInfo info = SnapshotFile.inspect(file);
                assertFalse(info.checksumValid(), "inspect of a file truncated to " + n);
                assertEquals(bodyLength, info.bodyLength());
                for (SectionInfo s : info.sections()) {
                    assertTrue(s.offset() + s.length() <= n, "inspect listed a section past the end: " + s);
                }
            } else if (n > 0) {
                assertTrue(e.problem().startsWith("truncated: the file has " + n + " bytes"), e.getMessage());
            } else {
                assertTrue(e.problem().contains("empty"), e.getMessage());
            }
        }
    }

    @Test
    void trailingGarbageIsRefused() throws IOException {
        for (int extra : new int[] {1, 16, 4096}) {
            Files.write(file, Arrays.copyOf(good, good.length + extra));
            SnapshotFormatException e = expectRefused(extra + " bytes appended");
            assertTrue(e.problem().startsWith("trailing garbage: " + extra + " bytes"), e.getMessage());
            assertFalse(SnapshotFile.inspect(file).checksumValid());
        }
    }

    @Test
    void theUndamagedFileStillReads() throws IOException {
        Files.write(file, good);
        assertEquals(Fixtures.small(), SnapshotFile.read(file));
        assertTrue(SnapshotFile.inspect(file).checksumValid());
    }

    private SnapshotFormatException expectRefused(String what) {
        try {
            MicrovmState s = SnapshotFile.read(file);
            fail(what + ": read succeeded with " + s);
            return null;
        } catch (SnapshotFormatException e) {
            assertTrue(e.getMessage().contains(file.toString()), what + ": message does not name the file: "
                    + e.getMessage());
            return e;
        } catch (IOException | RuntimeException e) {
            throw new AssertionError(what + ": expected SnapshotFormatException, got " + e, e);
        }
    }
}
