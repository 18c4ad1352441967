package dev.hostd.vmm.snapshot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads and writes snapshot state files: a 32-byte header and a checksummed body of tagged
 * sections (docs/snapshot-format.md). Guest RAM lives in its own file, named by the MEMORY section.
 *
 * <p>Versioning follows Firecracker: a reader accepts any minor version of its own major (a newer
 * minor may only add sections a reader can skip) and refuses any other major.
 */
public final class SnapshotFile {
    public static final int FORMAT_MAJOR = 1;
    public static final int FORMAT_MINOR = 0;

    private SnapshotFile() {}

    /**
     * Writes {@code state} to {@code file} atomically: a temporary file in the same directory is
     * written and fsynced, renamed over {@code file}, and the directory is fsynced. A reader sees
     * either the old file or the whole new one, also across a crash.
     *
     * @throws IllegalArgumentException if the state breaks a rule the reader would refuse
     */
    public static void write(Path file, MicrovmState state) throws IOException {
        byte[] body = encode(file, state);
        byte[] header = new SnapshotHeader(FORMAT_MAJOR, FORMAT_MINOR, 0, body.length,
                SnapshotHeader.crc32c(body, 0, body.length)).encode();
        AtomicFiles.write(file, header, body);
    }

    /** Reads and fully checks a state file. */
    public static MicrovmState read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            SnapshotHeader h = SnapshotHeader.decode(file, readAt(ch, 0, (int) Math.min(fileSize, SnapshotHeader.SIZE)));
            long available = fileSize - SnapshotHeader.SIZE;
            if (available < h.bodyLength()) {
                throw truncated(file, h, available);
            }
            if (available > h.bodyLength()) {
                throw new SnapshotFormatException(file, "trailing garbage: " + (available - h.bodyLength())
                        + " bytes after the body of " + h.bodyLength() + " bytes");
            }
            byte[] body = readAt(ch, SnapshotHeader.SIZE, (int) h.bodyLength());
            if (body.length < h.bodyLength()) { // shrank while we read
                throw truncated(file, h, body.length);
            }
            int computed = SnapshotHeader.crc32c(body, 0, body.length);
            if (computed != h.bodyCrc32c()) {
                throw new SnapshotFormatException(file, String.format(
                        "corrupt: body checksum mismatch (stored 0x%08x, computed 0x%08x)", h.bodyCrc32c(), computed));
            }
            MicrovmState state = StateDecoder.decode(file, body, SnapshotHeader.SIZE);
            if (isOwnName(file, state)) {
                throw new SnapshotFormatException(file, "MEMORY: fileName \"" + state.memory().fileName()
                        + "\" is the state file itself");
            }
            return state;
        }
    }

    /** The format version a state file was written in, "major.minor", from its header alone (checked as {@link #read} checks it). */
    public static String formatVersion(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            SnapshotHeader h = SnapshotHeader.decode(file, readAt(ch, 0, (int) Math.min(ch.size(), SnapshotHeader.SIZE)));
            return h.major() + "." + h.minor();
        }
    }

    /**
     * The header and the list of top-level sections, without decoding them. A file whose header is
     * good but whose body is truncated, too long or corrupt is reported with {@code checksumValid}
     * false and the sections that could be walked; an unreadable header (bad magic, other major,
     * header checksum) still throws.
     */
    public static SnapshotInfo inspect(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            SnapshotHeader h = SnapshotHeader.decode(file, readAt(ch, 0, (int) Math.min(fileSize, SnapshotHeader.SIZE)));
            long available = fileSize - SnapshotHeader.SIZE;
            byte[] body = readAt(ch, SnapshotHeader.SIZE, (int) Math.min(available, h.bodyLength()));
            boolean valid = available == h.bodyLength() && body.length == h.bodyLength()
                    && SnapshotHeader.crc32c(body, 0, body.length) == h.bodyCrc32c();
            List<SectionInfo> sections = new ArrayList<>();
            LeReader r = new LeReader(file, body, SnapshotHeader.SIZE, 0, body.length, "body");
            try {
                while (r.remaining() > 0) {
                    LeReader.Frame f = r.frame("section");
                    sections.add(new SectionInfo(Tags.sectionName(f.tag()), f.tag(),
                            SnapshotHeader.SIZE + (long) f.payloadStart(), f.length()));
                }
            } catch (SnapshotFormatException e) {
                if (valid) {
                    throw e; // the bytes are the ones written: the writer, not the disk, got it wrong
                }
            }
            return new SnapshotInfo(h.major(), h.minor(), h.bodyLength(), h.bodyCrc32c(), valid, sections);
        }
    }

    private static byte[] encode(Path file, MicrovmState state) {
        try {
            StateRules.check(state);
        } catch (StateRules.Violation v) {
            throw new IllegalArgumentException("cannot write snapshot " + file + ": " + v.getMessage());
        }
        if (isOwnName(file, state)) {
            throw new IllegalArgumentException("cannot write snapshot " + file
                    + ": it would overwrite its own memory file");
        }
        return StateEncoder.encode(state);
    }

    private static boolean isOwnName(Path file, MicrovmState state) {
        Path name = file.getFileName();
        return name != null && name.toString().equals(state.memory().fileName());
    }

    private static SnapshotFormatException truncated(Path file, SnapshotHeader h, long bodyBytes) {
        return new SnapshotFormatException(file, "truncated: header promises " + h.bodyLength()
                + " body bytes, file has " + bodyBytes);
    }

    /** Up to {@code length} bytes from {@code position}; fewer only if the file ends first. */
    private static byte[] readAt(FileChannel ch, long position, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(Math.max(0, length));
        while (buf.hasRemaining()) {
            int n = ch.read(buf, position + buf.position());
            if (n < 0) {
                break;
            }
        }
        return buf.position() == buf.capacity() ? buf.array() : Arrays.copyOf(buf.array(), buf.position());
    }
}
